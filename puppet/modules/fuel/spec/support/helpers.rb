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

  # Exec parameters that end up on a process' command line.
  COMMAND_LINE_PARAMETERS = %i[command unless onlyif].freeze

  def settings
    FIXTURE_SETTINGS
  end

  # The content of a file resource (Sensitive is unwrapped by rspec-puppet).
  def file_content(path)
    resource = catalogue.resource('File', path)
    raise "File[#{path}] not in the catalogue" unless resource

    resource[:content].to_s
  end

  # "Exec[title] param" for every command line of the catalogue that holds
  # a credential, a password verifier, or a password option.
  def secrets_on_command_lines
    verifiers = catalogue.resources.select { |r| r.type == 'File' }
                         .flat_map { |r| r[:content].to_s.scan(/SCRAM-SHA-256\$[^']+/) }
    catalogue.resources.select { |r| r.type == 'Exec' }.flat_map do |r|
      COMMAND_LINE_PARAMETERS.flat_map do |param|
        Array(r[param]).map(&:to_s).select do |line|
          (SECRETS + verifiers).any? { |s| line.include?(s) } || line.match?(/--password|PASSWORD=/i)
        end.map { |_| "#{r.ref} #{param}" }
      end
    end
  end
end

RSpec.configure do |c|
  c.include FuelSpecHelpers
end
