# frozen_string_literal: true

require 'spec_helper'
require 'facter'
require_relative '../../../lib/facter/fuel_packages'

describe FuelPackages do
  it 'keeps installed component packages and skips missing ones' do
    output = <<~OUT
      fuel-nailgun 10.0.0-1.el9
      package fuel-ostf is not installed
      astute 10.0.0-2.el9
      package fuel-ui is not installed
    OUT
    expect(described_class.parse(output)).to eq('fuel-nailgun' => '10.0.0-1.el9', 'astute' => '10.0.0-2.el9')
  end

  it 'ignores packages it did not ask for and empty output' do
    expect(described_class.parse("bash 5.1-1\n")).to eq({})
    expect(described_class.parse(nil)).to eq({})
  end

  it 'returns nothing without rpm' do
    allow(Facter::Core::Execution).to receive(:which).with('rpm').and_return(nil)
    expect(described_class.query).to eq({})
  end

  it 'queries rpm for every component package' do
    allow(Facter::Core::Execution).to receive(:which).with('rpm').and_return('/usr/bin/rpm')
    expect(Facter::Core::Execution).to receive(:execute)
      .with(a_string_including('/usr/bin/rpm -q', 'fuel-nailgun', 'fuel-ostf', 'astute', 'fuel-ui', 'rabbitmq-server', 'firewalld'),
            on_fail: nil)
      .and_return("fuel-ui 10.0.0-1\n")
    expect(described_class.query).to eq('fuel-ui' => '10.0.0-1')
  end
end
