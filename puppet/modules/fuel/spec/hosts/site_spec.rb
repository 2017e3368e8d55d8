# frozen_string_literal: true

require 'spec_helper'

# The whole site.pp catalog, with every dependency module, per distribution.
describe 'fuel.test.domain.local', type: :host do
  FuelFacts.each do |os, os_facts|
    context "on #{os}" do
      let(:facts) { os_facts }

      it { is_expected.to compile.with_all_deps }
      it { is_expected.to contain_class('fuel') }
    end
  end
end
