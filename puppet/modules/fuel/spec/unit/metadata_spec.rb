# frozen_string_literal: true

require 'spec_helper'
require 'json'
require 'yaml'

describe 'metadata.json' do
  metadata = JSON.parse(File.read(File.join(MODULES_DIR, 'fuel', 'metadata.json')))

  it 'follows the version of the fuel-puppet package (fuel.yaml)' do
    manifest = YAML.safe_load(File.read(File.join(PUPPET_DIR, '..', 'fuel.yaml')))
    expect(metadata['version']).to eq(manifest['packages']['fuel-puppet']['version'])
  end

  it 'has rspec-puppet fixtures for itself only, as it depends on no module' do
    fixtures = YAML.safe_load(File.read(File.join(MODULES_DIR, 'fuel', '.fixtures.yml')))
    expect(fixtures).to eq('fixtures' => { 'symlinks' => { 'fuel' => '#{source_dir}' } })
  end

  it 'keeps its OS defaults as module data (Hiera 5), not in a params class' do
    hiera = YAML.safe_load(File.read(File.join(MODULES_DIR, 'fuel', 'hiera.yaml')))
    expect(hiera['version']).to eq(5)
    expect(hiera['hierarchy'].map { |level| level['path'] }).to eq(['os/%{facts.os.family}.yaml', 'common.yaml'])
    expect(File).not_to exist(File.join(MODULES_DIR, 'fuel', 'manifests', 'params.pp'))
  end
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
