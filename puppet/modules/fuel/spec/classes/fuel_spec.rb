# frozen_string_literal: true

require 'spec_helper'

describe 'fuel' do
  task_order = %w[
    fuel::host fuel::postgresql fuel::rabbitmq fuel::mcollective fuel::astute
    fuel::keystone fuel::nailgun fuel::ostf fuel::nginx fuel::rsyslog fuel::rsync
  ].freeze

  FuelFacts.each do |os, os_facts|
    local_keystone = os_facts['fuel_packages'].key?('openstack-keystone')
    local_rabbitmq = os_facts['fuel_packages'].key?('rabbitmq-server')
    order = task_order.reject do |k|
      (k == 'fuel::keystone' && !local_keystone) || (k == 'fuel::rabbitmq' && !local_rabbitmq)
    end

    context "on #{os} with every component package it has" do
      let(:facts) { os_facts }

      it { is_expected.to compile.with_all_deps }

      order.each { |klass| it { is_expected.to contain_class(klass) } }
      it { is_expected.not_to contain_class('fuel::provisioning') }
      it { is_expected.not_to contain_class('fuel::keystone') } unless local_keystone
      it { is_expected.not_to contain_class('fuel::rabbitmq') } unless local_rabbitmq

      # The old task order, between consecutive classes...
      order.each_cons(2) do |before, after|
        it { is_expected.to contain_class(before).that_comes_before("Class[#{after}]") }
      end
      # ...and the chain the issue names, end to end.
      chain = %w[fuel::postgresql fuel::rabbitmq fuel::keystone fuel::nailgun fuel::ostf fuel::nginx] & order
      chain.each_cons(2) do |a, b|
        it { is_expected.to contain_class(b).that_requires("Class[#{a}]") }
      end
      it { is_expected.to contain_exec('postgresql database nailgun').that_comes_before('Service[nailgun]') }
      if local_rabbitmq
        it { is_expected.to contain_exec('rabbitmq password naily').that_comes_before('Service[astute]') }
      end
      if local_keystone
        it { is_expected.to contain_exec('keystone-manage bootstrap nailgun').that_comes_before('Service[nailgun]') }
      end

      it 'never puts a credential into a non-sensitive parameter' do
        leaks = []
        catalogue.resources.each do |r|
          r.to_hash.each do |param, value|
            next if r.sensitive_parameters.include?(param)

            FuelSpecHelpers::SECRETS.each { |s| leaks << "#{r.ref} #{param}" if value.to_s.include?(s) }
          end
        end
        expect(leaks).to eq([])
      end

      it 'puts no credential, verifier or password option on any command line' do
        expect(secrets_on_command_lines).to eq([])
      end

      it 'passes secrets to commands only through Sensitive environments' do
        catalogue.resources.select { |r| r.type == 'Exec' && r[:environment] }.each do |r|
          next unless FuelSpecHelpers::SECRETS.any? { |s| Array(r[:environment]).join("\n").include?(s) }

          expect(r.sensitive_parameters).to include(:environment), r.ref
        end
      end

      it 'writes credentials only to files 0640 or stricter, root-owned, without diff' do
        secret_files = catalogue.resources.select do |r|
          r.type == 'File' && (FuelSpecHelpers::SECRETS.any? { |s| r[:content].to_s.include?(s) } ||
                               r[:content].to_s.include?('SCRAM-SHA-256$'))
        end
        expected = ['/etc/nailgun/settings.yaml', '/etc/astute/astuted.conf', '/etc/ostf/ostf.conf',
                    '/etc/mcollective/client.cfg', '/var/lib/fuel/postgresql/nailgun.sql']
        expected += ['/etc/keystone/keystone.conf'] if local_keystone
        expected += ['/var/lib/fuel/rabbitmq/naily.password'] if local_rabbitmq
        expect(secret_files.map(&:title)).to include(*expected)
        secret_files.each do |f|
          expect(f.sensitive_parameters).to include(:content), f.title
          expect(f[:mode]).to match(/\A0[0-7][0-4]0\z/), f.title
          expect(f[:owner]).to eq('root')
          expect(f[:show_diff]).to be(false), f.title
        end
      end

      it 'leaves the service users to the packages' do
        %w[nailgun astute ostf keystone].each do |u|
          is_expected.not_to contain_user(u)
          is_expected.not_to contain_group(u)
        end
      end
    end
  end

  context 'without the upstream packages (default profile only)' do
    let(:facts) { FuelFacts::OS['centos-9'].merge('fuel_packages' => FuelFacts::RABBITMQ) }

    it { is_expected.to compile.with_all_deps }
    %w[fuel::mcollective fuel::astute fuel::keystone fuel::nailgun fuel::ostf].each do |klass|
      it { is_expected.not_to contain_class(klass) }
    end
    %w[fuel::host fuel::postgresql fuel::rabbitmq fuel::nginx fuel::rsyslog fuel::rsync].each do |klass|
      it { is_expected.to contain_class(klass) }
    end
    it { is_expected.to contain_class('fuel::rabbitmq').that_comes_before('Class[fuel::nginx]') }
    it { is_expected.not_to contain_service('nailgun') }
    it('leaves the firewall alone without firewalld') { is_expected.not_to contain_service('firewalld') }
    it 'serves neither the UI nor the ostf/keystone proxies' do
      conf = file_content('/etc/nginx/conf.d/fuel-services.conf')
      expect(conf).not_to match(%r{location /ostf/})
      expect(conf).not_to match(%r{location /keystone/})
      expect(conf).not_to match(%r{root /usr/share/nailgun/static})
    end
  end

  context 'when the fact is missing (rpm not available)' do
    let(:facts) { FuelFacts::OS['rocky-9'].reject { |k, _| k == 'fuel_packages' } }

    it { is_expected.to compile.with_all_deps }
    it { is_expected.not_to contain_class('fuel::nailgun') }
    it { is_expected.not_to contain_class('fuel::rabbitmq') }
  end

  context 'with overrides in hiera (fuel::components, provided certificate, no firewall)' do
    let(:facts) { FuelFacts::OS['fedora-44'].merge('fuel_spec_overrides' => 'forced') }

    it { is_expected.to compile.with_all_deps }
    it { is_expected.not_to contain_class('fuel::ostf') }
    it { is_expected.to contain_class('fuel::nailgun') }
    it { is_expected.to contain_class('fuel::nailgun').that_comes_before('Class[fuel::nginx]') }
    it { is_expected.not_to contain_exec('fuel self-signed certificate') }
    it { is_expected.not_to contain_service('firewalld') }
    it 'uses the provided certificate' do
      conf = file_content('/etc/nginx/conf.d/fuel-services.conf')
      expect(conf).to include('ssl_certificate /etc/pki/tls/certs/fuel.crt;')
      expect(conf).to include('ssl_certificate_key /etc/pki/tls/private/fuel.key;')
      expect(conf).not_to include('location /ostf/')
    end
  end

  context 'with provisioning on' do
    let(:facts) { FuelFacts::OS['leap-16'].merge('fuel_spec_overrides' => 'minimal', 'fuel_packages' => {}) }

    it { is_expected.to compile.with_all_deps }
    it { is_expected.to contain_class('fuel::provisioning').that_comes_before('Class[fuel::postgresql]') }
    it { is_expected.to contain_class('fuel::provisioning').that_requires('Class[fuel::host]') }
    it { is_expected.to contain_service('dnsmasq').with(ensure: 'running', enable: true) }
    it 'serves DHCP on the admin network from the settings' do
      conf = file_content('/etc/dnsmasq.d/fuel.conf')
      expect(conf).to include('interface=eth1')
      expect(conf).to include('dhcp-range=10.20.0.3,10.20.0.254,255.255.255.0,12h')
      expect(conf).to include('tftp-root=/srv/tftpboot')
    end
  end

  context 'without a local keystone and without keystone.external_url' do
    let(:facts) { FuelFacts::OS['fedora-44'].merge('fuel_spec_overrides' => 'none') }

    it do
      is_expected.to compile.and_raise_error(
        /fuel: nailgun and ostf need Keystone but openstack-keystone is not installed here; add keystone.external_url/,
      )
    end
  end

  context 'without a local RabbitMQ and without amqp.external_host' do
    let(:facts) { FuelFacts::OS['centos-10'].merge('fuel_spec_overrides' => 'keystone_only') }

    it do
      is_expected.to compile.and_raise_error(
        /fuel: nailgun, astute, mcollective need RabbitMQ but rabbitmq-server is not installed here; add amqp.external_host/,
      )
    end
  end

  context 'with a keystone.external_url that is not a URL' do
    let(:facts) { FuelFacts::OS['fedora-45'].merge('fuel_spec_overrides' => 'bad_url') }

    it { is_expected.to compile.and_raise_error(%r{fuel: keystone.external_url in /etc/fuel/astute.yaml must be a URL without path}) }
  end

  context 'with an unknown component in fuel::components' do
    let(:facts) { FuelFacts::OS['centos-9'] }
    let(:params) { { components: { 'nailgunn' => false } } }

    it { is_expected.to compile.and_raise_error(/unknown component\(s\) in fuel::components: nailgunn/) }
  end

  context 'on an unsupported OS family' do
    let(:facts) { FuelFacts::OS['centos-9'].merge('os' => FuelFacts::OS['centos-9']['os'].merge('family' => 'Debian')) }

    it { is_expected.to compile.and_raise_error(/unsupported OS family Debian/) }
  end
end
