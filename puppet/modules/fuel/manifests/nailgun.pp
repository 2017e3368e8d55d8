# @summary Nailgun, the Fuel REST API (uWSGI on 127.0.0.1:8001) and its workers.
#
# settings.yaml, the uWSGI configuration, the database migration and the
# services.
#
# The fuel-nailgun package creates the nailgun user and ships the units;
# Puppet writes the configuration, migrates the database and
# enables/starts the services. Keystone and RabbitMQ are the local ones or
# the external ones from the settings (resolved by the fuel class).
#
# @api private
#
# @param confdir
#   Configuration directory.
# @param group
#   The service's group.
# @param services
#   Units to enable and start (API and workers).
# @param package
#   The package, used to rerun the migration after an upgrade.
# @param syncdb_command
#   Database migration command (alembic upgrade to head).
# @param fixtures_command
#   Command loading the release fixtures after a migration.
# @param uwsgi_port
#   Local port of the uWSGI socket.
# @param static_dir
#   fuel-ui's static files.
class fuel::nailgun (
  Fuel::Absolutepath $confdir = '/etc/nailgun',
  String $group = 'nailgun',
  Array[String] $services = [
    'nailgun', 'receiverd', 'assassind', 'statsenderd',
    'oswl_flavor_collectord', 'oswl_image_collectord',
    'oswl_keystone_user_collectord', 'oswl_tenant_collectord',
    'oswl_vm_collectord', 'oswl_volume_collectord',
  ],
  String $package = 'fuel-nailgun',
  String $syncdb_command = '/usr/bin/nailgun_syncdb',
  String $fixtures_command = '/usr/bin/nailgun_fixtures',
  Fuel::Port $uwsgi_port = 8001,
  Fuel::Absolutepath $static_dir = '/usr/share/nailgun/static',
) {
  include fuel::settings

  $settings_file = "${confdir}/settings.yaml"
  $version = $facts.dig('fuel_packages', $package).lest || { 'unknown' }
  $stamp = '/var/lib/fuel/nailgun-db.version'

  fuel::secret_file { $settings_file:
    group   => $group,
    content => Sensitive(epp('fuel/nailgun/settings.yaml.epp', {
      'master_ip'         => $fuel::settings::master_ip,
      'admin_network'     => $fuel::settings::admin_network,
      'dns_domain'        => $fuel::settings::dns_domain,
      'dns_search'        => $fuel::settings::dns_search,
      'dns_upstream'      => $fuel::settings::dns_upstream,
      'ntp_servers'       => $fuel::settings::ntp_servers,
      'db_name'           => $fuel::settings::nailgun_db_name,
      'db_user'           => $fuel::settings::nailgun_db_user,
      'db_password'       => $fuel::settings::nailgun_db_password,
      'keystone_url'      => $fuel::keystone_public_url,
      'keystone_user'     => $fuel::settings::keystone_nailgun_user,
      'keystone_password' => $fuel::settings::keystone_nailgun_password,
      'amqp_host'         => $fuel::amqp_host,
      'amqp_port'         => $fuel::settings::amqp_port,
      'amqp_user'         => $fuel::settings::amqp_user,
      'amqp_password'     => $fuel::settings::amqp_password,
      'static_dir'        => $static_dir,
    })),
  }

  file { "${confdir}/uwsgi_nailgun.yaml":
    ensure  => file,
    owner   => 'root',
    group   => $group,
    mode    => '0644',
    content => epp('fuel/nailgun/uwsgi_nailgun.yaml.epp', {
      'port'     => $uwsgi_port,
      'settings' => $settings_file,
    }),
  }

  # nailgun reads the file NAILGUN_CONFIG names last, over its defaults and
  # /etc/nailgun/settings.yaml (fuel-web 11.0.0 nailgun/settings.py).
  # Migrate once per installed package version (first deploy, and after an
  # upgrade or a restore); a failed migration leaves the stamp untouched, so
  # the next run retries.
  exec { 'nailgun_syncdb':
    command     => $syncdb_command,
    user        => 'nailgun',
    environment => ["NAILGUN_CONFIG=${settings_file}"],
    unless      => "/usr/bin/grep -qxF '${version}' ${stamp}",
    logoutput   => 'on_failure',
    timeout     => 1800,
    require     => Fuel::Secret_file[$settings_file],
    notify      => Exec['nailgun_fixtures'],
  }
  exec { 'nailgun_fixtures':
    command     => $fixtures_command,
    user        => 'nailgun',
    environment => ["NAILGUN_CONFIG=${settings_file}"],
    refreshonly => true,
    logoutput   => 'on_failure',
    notify      => Exec['nailgun_syncdb stamp'],
  }
  exec { 'nailgun_syncdb stamp':
    command     => "/bin/sh -c 'echo ${version} > ${stamp}'",
    refreshonly => true,
  }

  service { $services:
    ensure    => running,
    enable    => true,
    subscribe => [Fuel::Secret_file[$settings_file], File["${confdir}/uwsgi_nailgun.yaml"]],
    require   => Exec['nailgun_syncdb'],
  }
}
