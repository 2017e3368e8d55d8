# @summary OSTF, the health-check service (port 8777).
#
# Its configuration, database migration and service. Keystone is the local
# one or the external one from the settings (resolved by the fuel class).
#
# @api private
#
# @param config
#   Path of ostf.conf.
# @param group
#   The service's group.
# @param service
#   The unit.
# @param port
#   Listening port.
# @param migrate_command
#   Database migration command.
class fuel::ostf (
  Fuel::Absolutepath $config = '/etc/ostf/ostf.conf',
  String $group = 'ostf',
  String $service = 'ostf',
  Fuel::Port $port = 8777,
  String $migrate_command = '/usr/bin/ostf-server --after-initialization-environment-hook',
) {
  include fuel::settings

  fuel::secret_file { $config:
    group   => $group,
    content => Sensitive(epp('fuel/ostf/ostf.conf.epp', {
      'port'              => $port,
      'keystone_public'   => "${fuel::keystone_public_url}/v3",
      'keystone_internal' => "${fuel::keystone_internal_url}/v3",
      'db_name'           => $fuel::settings::ostf_db_name,
      'db_user'           => $fuel::settings::ostf_db_user,
      'db_password'       => $fuel::settings::ostf_db_password,
      'keystone_user'     => $fuel::settings::keystone_ostf_user,
      'keystone_password' => $fuel::settings::keystone_ostf_password,
    })),
  }

  exec { 'ostf_migrate':
    command     => $migrate_command,
    user        => 'ostf',
    refreshonly => true,
    logoutput   => 'on_failure',
    subscribe   => Fuel::Secret_file[$config],
  }

  service { $service:
    ensure    => running,
    enable    => true,
    subscribe => Fuel::Secret_file[$config],
    require   => Exec['ostf_migrate'],
  }
}
