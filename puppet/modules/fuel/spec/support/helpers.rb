# frozen_string_literal: true

require 'yaml'

# Helpers shared by the fuel specs.
module FuelSpecHelpers
  FIXTURE_SETTINGS = YAML.safe_load(
    File.read(File.join(__dir__, '..', 'fixtures', 'hiera', 'astute.yaml')),
  )

  # Every credential of the fixture settings.
  SECRETS = [
    FIXTURE_SETTINGS['FUEL_ACCESS']['password'],
    *FIXTURE_SETTINGS['postgres'].select { |k, _| k.end_with?('_password') }.values,
    FIXTURE_SETTINGS['keystone']['admin_token'],
    *FIXTURE_SETTINGS['keystone'].select { |k, _| k.end_with?('_password') }.values,
    FIXTURE_SETTINGS['astute']['password'],
    FIXTURE_SETTINGS['mcollective']['password'],
  ].freeze

  def settings
    FIXTURE_SETTINGS
  end

  # The content of a file resource (Sensitive is unwrapped by rspec-puppet).
  def file_content(path)
    resource = catalogue.resource('File', path)
    raise "File[#{path}] not in the catalogue" unless resource

    resource[:content].to_s
  end
end

RSpec.configure do |c|
  c.include FuelSpecHelpers
end
