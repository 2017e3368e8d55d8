# @summary The MCollective client used by astute to reach the nodes.
#
# Only deployed when the mcollective package is installed. The broker is
# the local RabbitMQ or the external one from the settings.
#
# @api private
#
# @param confdir
#   MCollective configuration directory.
# @param group
#   Group that may read the client configuration (astute runs the client).
class fuel::mcollective (
  Fuel::Absolutepath $confdir = '/etc/mcollective',
  String $group = 'astute',
) {
  include fuel::settings

  # The local broker is reached on the admin address, like the nodes do.
  $broker = $fuel::amqp_host ? {
    '127.0.0.1' => $fuel::settings::master_ip,
    default     => $fuel::amqp_host,
  }

  fuel::secret_file { "${confdir}/client.cfg":
    group   => $group,
    content => Sensitive(epp('fuel/mcollective/client.cfg.epp', {
      'host'     => $broker,
      'user'     => $fuel::settings::mco_user,
      'password' => $fuel::settings::mco_password,
    })),
  }
}
