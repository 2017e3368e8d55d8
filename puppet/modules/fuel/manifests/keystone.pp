# @summary Keystone, the identity service (Apache httpd with mod_wsgi on port 5000).
#
# With the Fuel users admin (project admin) and nailgun, ostf, monitord
# (project services), all with the role admin.
#
# Deployed only where openstack-keystone is installed (EL9 with RDO); other
# targets point nailgun and ostf at `keystone.external_url` (see the fuel
# class).
#
# Users are created and their passwords kept in sync with
# `keystone-manage bootstrap`, which reads the password from the
# environment (OS_BOOTSTRAP_PASSWORD, a Sensitive exec environment), never
# from its command line, and resets it when it differs. It runs when the
# root-only stamp `<statedir>/<user>.wanted` (a digest of user and password)
# differs from `<user>.done`, which it copies after a successful run.
#
# @param package
#   The keystone package.
# @param group
#   The keystone group (created by the package).
# @param config
#   Path of keystone.conf (written whole by this class).
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
# @param statedir
#   Root-only directory for the bootstrap stamps.
# @param exec_path
#   Where commands are looked up (runuser, psql, rabbitmqctl, firewall-cmd...).
class fuel::keystone (
  String $package,
  String $group,
  String $httpd_package,
  String $httpd_service,
  Fuel::Absolutepath $httpd_confdir,
  String $wsgi_package,
  Array[Fuel::Absolutepath] $exec_path,
  Fuel::Absolutepath $config = '/etc/keystone/keystone.conf',
  Fuel::Port $port = 5000,
  Fuel::Absolutepath $statedir = '/var/lib/fuel/keystone',
) {
  include fuel::settings

  package { [$package, $httpd_package, $wsgi_package]:
    ensure => installed,
  }

  fuel::secret_file { $config:
    group   => $group,
    content => Sensitive(epp('fuel/keystone/keystone.conf.epp', {
      'db_user'     => $fuel::settings::keystone_db_user,
      'db_password' => $fuel::settings::keystone_db_password,
      'db_name'     => $fuel::settings::keystone_db_name,
      'admin_token' => $fuel::settings::keystone_admin_token,
    })),
    require => Package[$package],
    notify  => Exec['keystone-manage db_sync'],
  }

  $defaults = {
    path      => $exec_path,
    logoutput => 'on_failure',
  }

  exec { 'keystone-manage db_sync':
    command     => 'keystone-manage db_sync',
    user        => 'keystone',
    refreshonly => true,
    subscribe   => Package[$package],
    *           => $defaults,
  }
  -> exec { 'keystone-manage fernet_setup':
    command => 'keystone-manage fernet_setup --keystone-user keystone --keystone-group keystone',
    creates => '/etc/keystone/fernet-keys/0',
    *       => $defaults,
  }
  -> exec { 'keystone-manage credential_setup':
    command => 'keystone-manage credential_setup --keystone-user keystone --keystone-group keystone',
    creates => '/etc/keystone/credential-keys/0',
    *       => $defaults,
  }

  file { $statedir:
    ensure => directory,
    owner  => 'root',
    group  => 'root',
    mode   => '0700',
  }

  # user => [project, password, extra bootstrap options]
  $users = {
    $fuel::settings::admin_user => ['admin', $fuel::settings::admin_password, join([
          "--bootstrap-public-url http://${fuel::settings::master_ip}:${port}/v3",
          "--bootstrap-internal-url http://127.0.0.1:${port}/v3",
          '--bootstrap-region-id RegionOne',
    ], ' ')],
    $fuel::settings::keystone_nailgun_user  => ['services', $fuel::settings::keystone_nailgun_password, ''],
    $fuel::settings::keystone_ostf_user     => ['services', $fuel::settings::keystone_ostf_password, ''],
    $fuel::settings::keystone_monitord_user => ['services', $fuel::settings::keystone_monitord_password, ''],
  }

  $users.each |$user, $u| {
    $wanted = "${statedir}/${user}.wanted"
    $done = "${statedir}/${user}.done"
    file { $wanted:
      ensure    => file,
      owner     => 'root',
      group     => 'root',
      mode      => '0600',
      content   => Sensitive(sha256("fuel-keystone:${user}:${u[0]}:${u[1].unwrap}")),
      show_diff => false,
      backup    => false,
    }
    exec { "keystone-manage bootstrap ${user}":
      command     => join([
          "runuser -u keystone -- keystone-manage bootstrap --bootstrap-username ${user}",
          "--bootstrap-project-name ${u[0]} --bootstrap-role-name admin ${u[2]}",
          "&& cp -f ${wanted} ${done}",
      ], ' '),
      environment => Sensitive(["OS_BOOTSTRAP_PASSWORD=${u[1].unwrap}"]),
      unless      => "grep -qxF -f ${wanted} ${done}",
      provider    => 'shell',
      require     => [Exec['keystone-manage credential_setup'], File[$wanted]],
      before      => Service[$httpd_service],
      *           => $defaults,
    }
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
    subscribe => [Fuel::Secret_file[$config], Package[$wsgi_package]],
  }
}
