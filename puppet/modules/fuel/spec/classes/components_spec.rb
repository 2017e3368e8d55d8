# frozen_string_literal: true

require 'spec_helper'

# Per class: the key resources, their parameters and contents, through the
# fuel class (as site.pp declares it) with the fixture settings in hiera.
describe 'fuel' do
  expected = {
    'centos-9' => { pg_server: 'postgresql-server', pg_initdb: '/usr/bin/postgresql-setup --initdb', httpd: 'httpd', rsync: 'rsync-daemon' },
    'rocky-9' => { pg_server: 'postgresql-server', pg_initdb: '/usr/bin/postgresql-setup --initdb', httpd: 'httpd', rsync: 'rsync-daemon' },
    'centos-10' => { pg_server: 'postgresql-server', pg_initdb: '/usr/bin/postgresql-setup --initdb', httpd: 'httpd', rsync: 'rsync-daemon' },
    'fedora-44' => { pg_server: 'postgresql-server', pg_initdb: '/usr/bin/postgresql-setup --initdb', httpd: 'httpd', rsync: 'rsync-daemon' },
    'fedora-45' => { pg_server: 'postgresql-server', pg_initdb: '/usr/bin/postgresql-setup --initdb', httpd: 'httpd', rsync: 'rsync-daemon' },
    'leap-16' => { pg_server: 'postgresql17-server', pg_initdb: %r{\A/usr/lib/postgresql17/bin/initdb --pgdata=/var/lib/pgsql/data },
                   httpd: 'apache2', rsync: 'rsync' },
  }
  psql = 'runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d postgres'

  FuelFacts.each do |os, os_facts|
    local_keystone = os_facts['fuel_packages'].key?('openstack-keystone')
    local_rabbitmq = os_facts['fuel_packages'].key?('rabbitmq-server')

    context "on #{os}" do
      let(:facts) { os_facts }
      let(:os_expected) { expected.fetch(os) }

      describe 'fuel::host' do
        it { is_expected.to contain_package('openssl') }
        it { is_expected.to contain_service('firewalld').with(ensure: 'running', enable: true) }
        [22, 53, 514, 873, 5000, 5672, 8000, 8080, 8443, 8777, 35357, 61613].map { |p| "#{p}/tcp" }
          .concat([53, 67, 69, 514].map { |p| "#{p}/udp" }).each do |rule|
          it "opens #{rule} in firewalld's permanent configuration, checked first" do
            is_expected.to contain_exec("firewalld public #{rule}").with(
              command: "firewall-cmd --permanent --zone=public --add-port=#{rule}",
              unless: "firewall-cmd --permanent --zone=public --query-port=#{rule}",
            ).that_requires('Service[firewalld]').that_notifies('Exec[firewalld reload]')
          end
        end
        it { is_expected.to contain_exec('firewalld reload').with(command: 'firewall-cmd --reload', refreshonly: true) }
      end

      describe 'fuel::postgresql' do
        it { is_expected.to contain_package(os_expected[:pg_server]) }
        it do
          is_expected.to contain_exec('postgresql initdb').with(
            command: os_expected[:pg_initdb], creates: '/var/lib/pgsql/data/PG_VERSION',
          ).that_requires("Package[#{os_expected[:pg_server]}]")
        end
        it { is_expected.to contain_service('postgresql').with(ensure: 'running', enable: true) }
        it 'allows the Fuel roles in on loopback with a password, everyone else by peer on the socket' do
          is_expected.to contain_file('/var/lib/pgsql/data/pg_hba.conf')
            .with(owner: 'postgres', mode: '0600').that_requires('Exec[postgresql initdb]').that_notifies('Service[postgresql]')
          hba = file_content('/var/lib/pgsql/data/pg_hba.conf').lines.map(&:split).reject { |l| l.empty? || l[0].start_with?('#') }
          expect(hba).to eq([%w[local all all peer]] + %w[nailgun keystone ostf].flat_map do |db|
            [['host', db, db, '127.0.0.1/32', 'md5'], ['host', db, db, '::1/128', 'md5']]
          end)
        end
        %w[nailgun keystone ostf].each do |db|
          it "creates role and database #{db} from a root-only SQL file with the SCRAM verifier" do
            sql = file_content("/var/lib/fuel/postgresql/#{db}.sql")
            expect(sql).not_to include(settings['postgres']["#{db}_password"])
            expect(sql).to match(/^ALTER ROLE #{db} WITH LOGIN PASSWORD 'SCRAM-SHA-256\$4096:[^']+';$/)
            expect(sql).to include("SELECT 'CREATE ROLE #{db} LOGIN'")
            expect(sql).to include("SELECT 'CREATE DATABASE #{db} OWNER #{db} ENCODING ''UTF8'' TEMPLATE template0'")
            verifier = sql[/SCRAM-SHA-256\$[^']+/]
            expect(file_content("/var/lib/fuel/postgresql/#{db}.check.sql")).to include("rolpassword = '#{verifier}'")
            %W[/var/lib/fuel/postgresql/#{db}.sql /var/lib/fuel/postgresql/#{db}.check.sql].each do |f|
              is_expected.to contain_file(f).with(owner: 'root', group: 'root', mode: '0600', show_diff: false)
            end
          end
          it "runs the SQL of #{db} on psql's stdin unless the check prints t" do
            is_expected.to contain_exec("postgresql database #{db}").with(
              provider: 'shell',
              command: "#{psql} < /var/lib/fuel/postgresql/#{db}.sql",
              unless: "#{psql} -tA < /var/lib/fuel/postgresql/#{db}.check.sql | grep -qx t",
            ).that_requires('Service[postgresql]').that_requires("File[/var/lib/fuel/postgresql/#{db}.sql]")
          end
        end
      end

      if local_rabbitmq
        describe 'fuel::rabbitmq' do
          it { is_expected.to contain_package('rabbitmq-server') }
          it { is_expected.to contain_service('rabbitmq-server').with(ensure: 'running', enable: true) }
          it { is_expected.to contain_file('/etc/rabbitmq/enabled_plugins').with_content("[rabbitmq_stomp].\n").that_notifies('Service[rabbitmq-server]') }
          it { is_expected.to contain_file('/etc/rabbitmq/rabbitmq.conf').with_content(/^stomp.listeners.tcp.1 = 61613$/) }
          it do
            is_expected.to contain_exec('rabbitmq await startup').with(
              command: 'rabbitmqctl -q await_startup', unless: 'rabbitmq-diagnostics -q check_running',
            ).that_requires('Service[rabbitmq-server]')
          end
          it 'removes guest' do
            is_expected.to contain_exec('rabbitmq remove guest').with(
              command: 'rabbitmqctl -q delete_user guest', onlyif: 'rabbitmqctl -q list_users | cut -f1 | grep -qxF guest',
            )
          end
          { 'naily' => ['astute', 'administrator', '/'], 'mcollective' => ['mcollective', '', 'mcollective'] }.each do |user, (section, tags, vhost)|
            it "keeps the password of #{user} in a root-only file fed on stdin" do
              is_expected.to contain_file("/var/lib/fuel/rabbitmq/#{user}.password").with(
                owner: 'root', group: 'root', mode: '0600', show_diff: false, content: sensitive(settings[section]['password']),
              )
              is_expected.to contain_exec("rabbitmq user #{user}").with(
                command: "rabbitmqctl -q add_user #{user} < /var/lib/fuel/rabbitmq/#{user}.password",
                unless: "rabbitmqctl -q list_users | cut -f1 | grep -qxF #{user}",
              ).that_requires('Exec[rabbitmq await startup]')
              is_expected.to contain_exec("rabbitmq password #{user}").with(
                command: "rabbitmqctl -q change_password #{user} < /var/lib/fuel/rabbitmq/#{user}.password",
                unless: "rabbitmqctl -q authenticate_user #{user} < /var/lib/fuel/rabbitmq/#{user}.password",
              ).that_requires("Exec[rabbitmq user #{user}]")
            end
            it { is_expected.to contain_exec("rabbitmq tags #{user}").with_unless("rabbitmqctl -q list_users | grep -qxF '#{user}\t[#{tags}]'") }
            it do
              is_expected.to contain_exec("rabbitmq permissions #{user}@#{vhost}").with(
                command: "rabbitmqctl -q set_permissions -p #{vhost} #{user} '.*' '.*' '.*'",
              ).that_requires("Exec[rabbitmq user #{user}]")
            end
          end
          it { is_expected.to contain_exec('rabbitmq permissions mcollective@mcollective').that_requires('Exec[rabbitmq vhost mcollective]') }
        end
      end

      if local_keystone
        describe 'fuel::keystone' do
          it { is_expected.to contain_package('openstack-keystone') }
          it { is_expected.to contain_file('/etc/keystone/keystone.conf').with(owner: 'root', group: 'keystone', mode: '0640', show_diff: false) }
          it 'writes keystone.conf whole, with the database URL and admin token' do
            conf = file_content('/etc/keystone/keystone.conf')
            expect(conf).to include("connection = postgresql://keystone:#{settings['postgres']['keystone_password']}@127.0.0.1/keystone\n")
            expect(conf).to include("admin_token = #{settings['keystone']['admin_token']}\n")
            expect(conf).to include("[token]\nprovider = fernet\n")
          end
          it { is_expected.to contain_exec('keystone-manage db_sync').with(user: 'keystone', refreshonly: true).that_subscribes_to('Fuel::Secret_file[/etc/keystone/keystone.conf]') }
          { 'admin' => %w[admin FUEL_ACCESS password], 'nailgun' => %w[services keystone nailgun_password],
            'ostf' => %w[services keystone ostf_password], 'monitord' => %w[services keystone monitord_password] }.each do |user, (project, section, key)|
            it "bootstraps #{user} in #{project} with the password in a Sensitive environment only" do
              r = catalogue.resource('Exec', "keystone-manage bootstrap #{user}")
              expect(r[:command]).to start_with("runuser -u keystone -- keystone-manage bootstrap --bootstrap-username #{user} " \
                                                "--bootstrap-project-name #{project} --bootstrap-role-name admin")
              expect(r[:command]).to end_with("&& cp -f /var/lib/fuel/keystone/#{user}.wanted /var/lib/fuel/keystone/#{user}.done")
              expect(r[:unless]).to eq("grep -qxF -f /var/lib/fuel/keystone/#{user}.wanted /var/lib/fuel/keystone/#{user}.done")
              expect(r[:environment]).to eq(["OS_BOOTSTRAP_PASSWORD=#{settings[section][key]}"])
              expect(r.sensitive_parameters).to include(:environment)
              is_expected.to contain_file("/var/lib/fuel/keystone/#{user}.wanted").with(mode: '0600', owner: 'root', show_diff: false)
              expect(file_content("/var/lib/fuel/keystone/#{user}.wanted")).not_to include(settings[section][key])
            end
          end
          it { is_expected.to contain_exec('keystone-manage bootstrap admin').with_command(%r{--bootstrap-public-url http://10.20.0.2:5000/v3}) }
          it { is_expected.to contain_file("#{os_facts['os']['family'] == 'Suse' ? '/etc/apache2/vhosts.d' : '/etc/httpd/conf.d'}/wsgi-keystone.conf").with_content(/Listen 5000/) }
          it { is_expected.to contain_service(os_expected[:httpd]).with(ensure: 'running', enable: true).that_requires('Exec[keystone-manage bootstrap admin]') }
        end
      end

      describe 'fuel::nailgun' do
        let(:nailgun_auth) { YAML.safe_load(file_content('/etc/nailgun/settings.yaml'))['AUTH'] }

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
          expect(content['RABBITMQ']).to include('userid' => 'naily', 'password' => settings['astute']['password'], 'port' => '5672')
          expect(content['MASTER_IP']).to eq('10.20.0.2')
          expect(content['NTP_UPSTREAMS']).to eq(['0.pool.ntp.org', '1.pool.ntp.org'])
        end
        if local_keystone
          it('authenticates against the local keystone') { expect(nailgun_auth).to include('auth_host' => '10.20.0.2:5000', 'auth_protocol' => 'http') }
        else
          it('authenticates against the external keystone') do
            expect(nailgun_auth).to include('auth_host' => 'keystone.example.com:5000', 'auth_protocol' => 'https')
          end
        end
        it "uses the #{local_rabbitmq ? 'local' : 'external'} RabbitMQ" do
          expect(YAML.safe_load(file_content('/etc/nailgun/settings.yaml'))['RABBITMQ']['hostname'])
            .to eq(local_rabbitmq ? '127.0.0.1' : 'amqp.example.com')
        end
        it 'runs uWSGI on 127.0.0.1:8001 without secrets in its config' do
          content = YAML.safe_load(file_content('/etc/nailgun/uwsgi_nailgun.yaml'))
          expect(content['uwsgi']).to include('socket' => '127.0.0.1:8001', 'module' => 'nailgun.wsgi:application')
        end
        it do
          is_expected.to contain_exec('nailgun_syncdb').with(
            user: 'nailgun', unless: "/usr/bin/grep -qxF '11.0.0-1' /var/lib/fuel/nailgun-db.version",
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
          if local_keystone
            expect(conf).to include("www_authenticate_uri = http://10.20.0.2:5000/v3\nauth_url = http://127.0.0.1:5000/v3\n")
          else
            expect(conf).to include("www_authenticate_uri = https://keystone.example.com:5000/v3\nauth_url = https://keystone.example.com:5000/v3\n")
          end
        end
        it { is_expected.to contain_exec('ostf_migrate').with(user: 'ostf', refreshonly: true) }
        it { is_expected.to contain_service('ostf').with(ensure: 'running', enable: true).that_requires('Exec[ostf_migrate]') }
      end

      describe 'fuel::astute and fuel::mcollective' do
        it { is_expected.to contain_file('/etc/astute/astuted.conf').with(group: 'astute', mode: '0640', show_diff: false) }
        it 'gives astute the naily credentials' do
          conf = YAML.safe_load(file_content('/etc/astute/astuted.conf'))
          expect(conf).to include('broker_username' => 'naily', 'broker_password' => settings['astute']['password'], 'broker_port' => 5672,
                                  'broker_host' => local_rabbitmq ? '127.0.0.1' : 'amqp.example.com')
        end
        it { is_expected.to contain_service('astute').with(ensure: 'running', enable: true).that_subscribes_to('Fuel::Secret_file[/etc/astute/astuted.conf]') }
        it { is_expected.to contain_file('/etc/mcollective/client.cfg').with(mode: '0640', show_diff: false) }
        it 'gives the MCollective client its vhost and credentials' do
          conf = file_content('/etc/mcollective/client.cfg')
          expect(conf).to include('plugin.rabbitmq.vhost = mcollective')
          expect(conf).to include("plugin.rabbitmq.pool.1.password = #{settings['mcollective']['password']}")
          expect(conf).to include("plugin.rabbitmq.pool.1.host = #{local_rabbitmq ? '10.20.0.2' : 'amqp.example.com'}\n")
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
          if local_keystone
            expect(services).to match(%r{location /keystone/ \{\n\s+proxy_pass http://127.0.0.1:5000/;})
          else
            expect(services).not_to include('location /keystone/')
          end
          expect(services).to include('root /usr/share/nailgun/static;')
          expect(services).to match(%r{location /static/ \{\n\s+alias /usr/share/nailgun/static/;})
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
