# @summary Keystone, the identity service (served by Apache httpd with
#   mod_wsgi on port 5000), with the Fuel users admin, nailgun, ostf and
#   monitord in the projects admin and services.
#
# @param package
#   The keystone package.
# @param group
#   The keystone group (created by the package).
# @param config
#   Path of keystone.conf.
# @param httpd_package
#   The Apache httpd package.
# @param httpd_service
#   The Apache httpd service.
# @param httpd_confdir
#   Directory of Apache httpd's virtual host files.
# @param wsgi_package
#   mod_wsgi for Python 3.
# @param port
#   Port of the identity API.
class fuel::keystone (
  String $package = $fuel::params::keystone_package,
  String $group = $fuel::params::keystone_group,
  Stdlib::Absolutepath $config = '/etc/keystone/keystone.conf',
  String $httpd_package = $fuel::params::httpd_package,
  String $httpd_service = $fuel::params::httpd_service,
  Stdlib::Absolutepath $httpd_confdir = $fuel::params::httpd_confdir,
  String $wsgi_package = $fuel::params::wsgi_package,
  Stdlib::Port $port = 5000,
) inherits fuel::params {
  include fuel::settings

  $db_url = Sensitive(sprintf('postgresql://%s:%s@127.0.0.1/%s',
    $fuel::settings::keystone_db_user,
    $fuel::settings::keystone_db_password.unwrap,
    $fuel::settings::keystone_db_name))

  ensure_packages([$package, $httpd_package, $wsgi_package])

  # The package ships keystone.conf; Puppet tightens its ownership and mode
  # before writing secrets into it.
  file { $config:
    ensure    => file,
    owner     => 'root',
    group     => $group,
    mode      => '0640',
    show_diff => false,
    require   => Package[$package],
  }

  $ini = {
    'database/connection'   => $db_url,
    'token/provider'        => 'fernet',
    'identity/driver'       => 'sql',
    'DEFAULT/log_dir'       => '/var/log/keystone',
    'DEFAULT/admin_token'   => $fuel::settings::keystone_admin_token,
  }
  $ini.each |$key, $value| {
    $parts = split($key, '/')
    ini_setting { "keystone.conf ${key}":
      ensure    => present,
      path      => $config,
      section   => $parts[0],
      setting   => $parts[1],
      value     => $value,
      show_diff => false,
      require   => File[$config],
      notify    => Exec['keystone-manage db_sync'],
    }
  }

  exec { 'keystone-manage db_sync':
    command     => '/usr/bin/keystone-manage db_sync',
    user        => 'keystone',
    refreshonly => true,
    logoutput   => 'on_failure',
  }
  -> exec { 'keystone-manage fernet_setup':
    command => '/usr/bin/keystone-manage fernet_setup --keystone-user keystone --keystone-group keystone',
    creates => '/etc/keystone/fernet-keys/0',
  }
  -> exec { 'keystone-manage credential_setup':
    command => '/usr/bin/keystone-manage credential_setup --keystone-user keystone --keystone-group keystone',
    creates => '/etc/keystone/credential-keys/0',
  }
  -> exec { 'keystone-manage bootstrap':
    # The password goes through the environment, never the command line.
    command     => join([
        '/usr/bin/keystone-manage bootstrap',
        "--bootstrap-username ${fuel::settings::admin_user}",
        '--bootstrap-project-name admin --bootstrap-role-name admin',
        "--bootstrap-public-url http://${fuel::settings::master_ip}:${port}/v3",
        '--bootstrap-region-id RegionOne',
    ], ' '),
    environment => Sensitive(["OS_BOOTSTRAP_PASSWORD=${fuel::settings::admin_password.unwrap}"]),
    unless      => '/usr/bin/test -e /var/lib/fuel/keystone-bootstrap.done',
    notify      => Exec['keystone bootstrap done'],
  }
  exec { 'keystone bootstrap done':
    command     => '/usr/bin/touch /var/lib/fuel/keystone-bootstrap.done',
    refreshonly => true,
  }

  file { "${httpd_confdir}/wsgi-keystone.conf":
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('fuel/keystone/wsgi-keystone.conf.epp', { 'port' => $port }),
    require => Package[$httpd_package],
    notify  => Service[$httpd_service],
  }

  service { $httpd_service:
    ensure    => running,
    enable    => true,
    subscribe => Exec['keystone-manage bootstrap'],
  }

  # Service users in the project "services" (created after httpd serves the
  # API). Their passwords are passed through the environment.
  $auth_env = [
    "OS_AUTH_URL=http://127.0.0.1:${port}/v3",
    "OS_USERNAME=${fuel::settings::admin_user}",
    "OS_PASSWORD=${fuel::settings::admin_password.unwrap}",
    'OS_PROJECT_NAME=admin',
    'OS_USER_DOMAIN_NAME=Default',
    'OS_PROJECT_DOMAIN_NAME=Default',
    'OS_IDENTITY_API_VERSION=3',
  ]
  exec { 'keystone project services':
    command     => '/usr/bin/openstack project create --or-show --domain Default services',
    environment => Sensitive($auth_env),
    unless      => '/usr/bin/openstack project show services',
    require     => Service[$httpd_service],
  }
  $users = {
    $fuel::settings::keystone_nailgun_user  => $fuel::settings::keystone_nailgun_password,
    $fuel::settings::keystone_ostf_user     => $fuel::settings::keystone_ostf_password,
    $fuel::settings::keystone_monitord_user => $fuel::settings::keystone_monitord_password,
  }
  $users.each |$user, $password| {
    exec { "keystone user ${user}":
      command     => join([
          "/bin/sh -c '/usr/bin/openstack user create --or-show --domain Default --project services",
          "--password \"\$FUEL_USER_PASSWORD\" ${user}",
          "&& /usr/bin/openstack role add --project services --user ${user} admin'",
      ], ' '),
      environment => Sensitive($auth_env + ["FUEL_USER_PASSWORD=${password.unwrap}"]),
      unless      => "/usr/bin/openstack user show ${user}",
      require     => Exec['keystone project services'],
    }
  }
}
