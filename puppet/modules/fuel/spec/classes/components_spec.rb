# frozen_string_literal: true

require 'spec_helper'

# Per class: the key resources, their parameters and contents, through the
# fuel class (as site.pp declares it) with the fixture settings in hiera.
describe 'fuel' do
  expected = {
    'centos-9' => { pg_server: 'postgresql-server', pg_service: 'postgresql', httpd: 'httpd', rsync: 'rsync-daemon' },
    'rocky-9' => { pg_server: 'postgresql-server', pg_service: 'postgresql', httpd: 'httpd', rsync: 'rsync-daemon' },
    'fedora-41' => { pg_server: 'postgresql-server', pg_service: 'postgresql', httpd: 'httpd', rsync: 'rsync-daemon' },
    'opensuse-15.6' => { pg_server: 'postgresql16-server', pg_service: 'postgresql', httpd: 'apache2', rsync: 'rsync' },
  }

  FuelFacts.each do |os, os_facts|
    context "on #{os}" do
      let(:facts) { os_facts }
      let(:os_expected) { expected.fetch(os) }

      describe 'fuel::host' do
        it { is_expected.to contain_package('openssl') }
        it do
          is_expected.to contain_firewall('100 fuel master tcp ports').with(
            proto: 'tcp', action: 'accept',
            dport: [22, 53, 514, 873, 5000, 5672, 8000, 8080, 8443, 8777, 35357, 61613],
          )
        end
        it { is_expected.to contain_firewall('101 fuel master udp ports').with(proto: 'udp', dport: [53, 67, 69, 514]) }
        it { is_expected.to contain_firewall('999 drop all other input').with(action: 'drop') }
        it do
          # ctstate works with every puppetlabs-firewall; `state` is gone in 7.x
          is_expected.to contain_firewall('000 accept related established')
            .with(ctstate: ['RELATED', 'ESTABLISHED'], action: 'accept')
        end
        if os_facts['os']['family'] == 'RedHat'
          it { is_expected.to contain_class('firewall') }
        else
          it { is_expected.not_to contain_class('firewall') }
        end
      end

      describe 'fuel::postgresql' do
        it { is_expected.to contain_package('postgresql-server').with(name: os_expected[:pg_server]) }
        it { is_expected.to contain_service('postgresqld').with(name: os_expected[:pg_service], ensure: 'running', enable: true) }
        %w[nailgun keystone ostf].each do |db|
          it 'creates the database and its role with the password from the settings' do
            password = settings['postgres']["#{db}_password"]
            md5 = 'md5' + Digest::MD5.hexdigest(password + db)
            is_expected.to contain_postgresql__server__db(db).with(user: db, password: md5, encoding: 'UTF8')
            is_expected.to contain_postgresql__server__role(db).with(password_hash: md5)
            is_expected.to contain_postgresql__server__database(db)
          end
        end
      end

      describe 'fuel::rabbitmq' do
        it { is_expected.to contain_class('rabbitmq').with(delete_guest_user: true, config_stomp: true, stomp_port: 61613) }
        it { is_expected.to contain_rabbitmq_user('guest').with_ensure('absent') }
        it { is_expected.to contain_rabbitmq_user('naily').with(password: sensitive(settings['astute']['password']), admin: true) }
        it { is_expected.to contain_rabbitmq_user('mcollective').with(password: sensitive(settings['mcollective']['password'])) }
        it { is_expected.to contain_rabbitmq_vhost('mcollective') }
        it { is_expected.to contain_rabbitmq_user_permissions('naily@/').with(configure_permission: '.*', read_permission: '.*', write_permission: '.*') }
        it { is_expected.to contain_rabbitmq_user_permissions('mcollective@mcollective').that_requires('Rabbitmq_vhost[mcollective]') }
        it { is_expected.to contain_service('rabbitmq-server').with(ensure: 'running', enable: true) }
      end

      describe 'fuel::keystone' do
        it { is_expected.to contain_package('openstack-keystone') }
        it do
          is_expected.to contain_file('/etc/keystone/keystone.conf').with(
            owner: 'root', group: 'keystone', mode: '0640', show_diff: false,
          )
        end
        it 'stores the database URL with the password, sensitive and without diff' do
          r = catalogue.resource('Ini_setting', 'keystone.conf database/connection')
          expect(r[:value]).to eq("postgresql://keystone:#{settings['postgres']['keystone_password']}@127.0.0.1/keystone")
          expect(r.sensitive_parameters).to include(:value)
          expect(r[:show_diff]).to be(false)
        end
        it { is_expected.to contain_exec('keystone-manage db_sync').with(user: 'keystone', refreshonly: true) }
        it 'bootstraps admin with the password in the environment only' do
          r = catalogue.resource('Exec', 'keystone-manage bootstrap')
          expect(r[:command]).not_to include(settings['FUEL_ACCESS']['password'])
          expect(r[:environment]).to include("OS_BOOTSTRAP_PASSWORD=#{settings['FUEL_ACCESS']['password']}")
          expect(r.sensitive_parameters).to include(:environment)
        end
        %w[nailgun ostf monitord].each do |user|
          it { is_expected.to contain_exec("keystone user #{user}").that_requires('Exec[keystone project services]') }
        end
        it { is_expected.to contain_file("#{os_facts['os']['family'] == 'Suse' ? '/etc/apache2/vhosts.d' : '/etc/httpd/conf.d'}/wsgi-keystone.conf").with_content(/Listen 5000/) }
        it { is_expected.to contain_service(os_expected[:httpd]).with(ensure: 'running', enable: true) }
      end

      describe 'fuel::nailgun' do
        it do
          is_expected.to contain_file('/etc/nailgun/settings.yaml').with(
            owner: 'root', group: 'nailgun', mode: '0640', show_diff: false,
          )
        end
        it 'writes settings.yaml with the credentials from the settings' do
          content = YAML.safe_load(file_content('/etc/nailgun/settings.yaml'))
          expect(content['DATABASE']).to include(
            'name' => 'nailgun', 'user' => 'nailgun', 'passwd' => settings['postgres']['nailgun_password'],
          )
          expect(content['AUTH']).to include('admin_user' => 'nailgun', 'admin_password' => settings['keystone']['nailgun_password'])
          expect(content['RABBITMQ']).to include('userid' => 'naily', 'password' => settings['astute']['password'])
          expect(content['MASTER_IP']).to eq('10.20.0.2')
          expect(content['NTP_UPSTREAMS']).to eq(['0.pool.ntp.org', '1.pool.ntp.org'])
        end
        it 'runs uWSGI on 127.0.0.1:8001 without secrets in its config' do
          content = YAML.safe_load(file_content('/etc/nailgun/uwsgi_nailgun.yaml'))
          expect(content['uwsgi']).to include('socket' => '127.0.0.1:8001', 'module' => 'nailgun.wsgi:application')
        end
        it do
          is_expected.to contain_exec('nailgun_syncdb').with(
            user: 'nailgun', unless: "/usr/bin/grep -qxF '10.0.0-1' /var/lib/fuel/nailgun-db.version",
          ).that_requires('Fuel::Secret_file[/etc/nailgun/settings.yaml]').that_notifies('Exec[nailgun_fixtures]')
        end
        it { is_expected.to contain_exec('nailgun_fixtures').with_refreshonly(true).that_notifies('Exec[nailgun_syncdb stamp]') }
        %w[nailgun receiverd assassind statsenderd oswl_flavor_collectord oswl_image_collectord
           oswl_keystone_user_collectord oswl_tenant_collectord oswl_vm_collectord oswl_volume_collectord].each do |svc|
          it { is_expected.to contain_service(svc).with(ensure: 'running', enable: true).that_requires('Exec[nailgun_syncdb]') }
          it { is_expected.to contain_service(svc).that_subscribes_to('Fuel::Secret_file[/etc/nailgun/settings.yaml]') }
        end
      end

      describe 'fuel::ostf' do
        it { is_expected.to contain_file('/etc/ostf/ostf.conf').with(group: 'ostf', mode: '0640', show_diff: false) }
        it 'configures the ostf database and keystone user' do
          conf = file_content('/etc/ostf/ostf.conf')
          expect(conf).to include("dbpath = postgresql+psycopg2://ostf:#{settings['postgres']['ostf_password']}@127.0.0.1/ostf")
          expect(conf).to include("password = #{settings['keystone']['ostf_password']}")
          expect(conf).to include('server_port = 8777')
        end
        it { is_expected.to contain_exec('ostf_migrate').with(user: 'ostf', refreshonly: true) }
        it { is_expected.to contain_service('ostf').with(ensure: 'running', enable: true).that_requires('Exec[ostf_migrate]') }
      end

      describe 'fuel::astute and fuel::mcollective' do
        it { is_expected.to contain_file('/etc/astute/astuted.conf').with(group: 'astute', mode: '0640', show_diff: false) }
        it 'gives astute the naily credentials' do
          conf = YAML.safe_load(file_content('/etc/astute/astuted.conf'))
          expect(conf).to include('broker_username' => 'naily', 'broker_password' => settings['astute']['password'])
        end
        it { is_expected.to contain_service('astute').with(ensure: 'running', enable: true).that_subscribes_to('Fuel::Secret_file[/etc/astute/astuted.conf]') }
        it { is_expected.to contain_file('/etc/mcollective/client.cfg').with(mode: '0640', show_diff: false) }
        it 'gives the MCollective client its vhost and credentials' do
          conf = file_content('/etc/mcollective/client.cfg')
          expect(conf).to include('plugin.rabbitmq.vhost = mcollective')
          expect(conf).to include("plugin.rabbitmq.pool.1.password = #{settings['mcollective']['password']}")
        end
      end

      describe 'fuel::nginx' do
        let(:services) { file_content('/etc/nginx/conf.d/fuel-services.conf') }

        it { is_expected.to contain_package('nginx') }
        it { is_expected.to contain_service('nginx').with(ensure: 'running', enable: true) }
        it 'serves the UI on 8000 and TLS on 8443 with the API, ostf and keystone' do
          expect(services).to include('listen 8000;')
          expect(services).to include('listen 8443 ssl;')
          expect(services).to include('server 127.0.0.1:8001;')
          expect(services).to match(%r{location /api \{\n\s+include uwsgi_params;\n\s+uwsgi_pass nailgun-application;})
          expect(services).to match(%r{location /ostf/ \{\n\s+proxy_pass http://127.0.0.1:8777/;})
          expect(services).to match(%r{location /keystone/ \{\n\s+proxy_pass http://127.0.0.1:5000/;})
          expect(services).to include('root /usr/share/nailgun/static;')
          expect(services).to include('ssl_certificate /etc/pki/fuel/nginx.crt;')
        end
        it { is_expected.to contain_file('/etc/nginx/conf.d/fuel-repo.conf').with_content(%r{listen 8080;\n.*\n\s+root /var/www/nailgun;}) }
        it { is_expected.to contain_exec('fuel self-signed certificate').with(creates: '/etc/pki/fuel/nginx.crt') }
        it { is_expected.to contain_exec('fuel self-signed certificate').with_command(/umask 077 && .*openssl req -x509/) }
        it { is_expected.to contain_file('/etc/pki/fuel/nginx.key').with(owner: 'root', group: 'nginx', mode: '0640').that_comes_before('Service[nginx]') }
      end

      describe 'fuel::rsyslog' do
        it { is_expected.to contain_service('rsyslog').with(ensure: 'running', enable: true) }
        it do
          is_expected.to contain_file('/etc/rsyslog.d/30-fuel-remote.conf')
            .with_content(%r{string="/var/log/remote/%HOSTNAME%/%programname%.log"})
            .with_content(/input\(type="imudp" port="514"/)
            .with_content(/input\(type="imtcp" port="514"/)
            .that_notifies('Service[rsyslog]')
        end
      end

      describe 'fuel::rsync' do
        it { is_expected.to contain_package(os_expected[:rsync]) }
        it { is_expected.to contain_service('rsyncd').with(ensure: 'running', enable: true) }
        it do
          is_expected.to contain_file('/etc/rsyncd.conf')
            .with_content(%r{\[puppet\]\n\s+path = /etc/puppet\n\s+read only = true})
            .with_content(%r{\[plugins\]\n\s+path = /var/www/nailgun/plugins})
        end
      end
    end
  end
end
