# @summary Astute, the orchestrator: its configuration and service.
#
# The astute package ships the unit and creates the astute user; Puppet
# only writes the configuration and enables/starts the service. RabbitMQ is
# the local one or the external one from the settings (resolved by the fuel
# class).
#
# @api private
#
# @param config
#   Path of astuted.conf.
# @param service
#   Name of the systemd unit.
# @param group
#   The service's group.
class fuel::astute (
  Fuel::Absolutepath $config = '/etc/astute/astuted.conf',
  String $service = 'astute',
  String $group = 'astute',
) {
  include fuel::settings

  fuel::secret_file { $config:
    group   => $group,
    content => Sensitive(epp('fuel/astute/astuted.conf.epp', {
      'master_ip' => $fuel::settings::master_ip,
      'amqp_host' => $fuel::amqp_host,
      'amqp_port' => $fuel::settings::amqp_port,
      'user'      => $fuel::settings::amqp_user,
      'password'  => $fuel::settings::amqp_password,
    })),
    notify  => Service[$service],
  }

  service { $service:
    ensure => running,
    enable => true,
  }
}
