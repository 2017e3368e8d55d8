# frozen_string_literal: true

require 'spec_helper'
require 'json'

describe 'metadata.json' do
  metadata = JSON.parse(File.read(File.join(MODULES_DIR, 'fuel', 'metadata.json')))

  it('follows the package version') { expect(metadata['version']).to eq('11.0.0') }
  it('depends on no other module') { expect(metadata['dependencies']).to eq([]) }
  it('is the only module the specs compile with') { expect(Dir.children(MODULES_DIR)).to eq(['fuel']) }

  it 'supports every target the specs compile for' do
    supported = metadata['operatingsystem_support'].flat_map do |os|
      os['operatingsystemrelease'].map { |release| [os['operatingsystem'], release] }
    end
    FuelFacts.each do |name, facts|
      expect(supported).to include([facts['os']['name'], facts['os']['release']['major']]), name
    end
  end

  it 'asks for Puppet or OpenVox 7 or 8' do
    expect(metadata['requirements']).to contain_exactly(
      { 'name' => 'puppet', 'version_requirement' => '>= 7.0.0 < 9.0.0' },
      { 'name' => 'openvox', 'version_requirement' => '>= 7.0.0 < 9.0.0' },
    )
  end
end
