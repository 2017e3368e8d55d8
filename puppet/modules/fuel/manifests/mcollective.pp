# @summary The MCollective client used by astute to reach the nodes.
#
# Only deployed when the mcollective package is installed.
#
# @param confdir
#   MCollective configuration directory.
# @param group
#   Group that may read the client configuration (astute runs the client).
class fuel::mcollective (
  Stdlib::Absolutepath $confdir = '/etc/mcollective',
  String $group = 'astute',
) {
  include fuel::settings

  fuel::secret_file { "${confdir}/client.cfg":
    group   => $group,
    content => Sensitive(epp('fuel/mcollective/client.cfg.epp', {
      'host'     => $fuel::settings::master_ip,
      'user'     => $fuel::settings::mco_user,
      'password' => $fuel::settings::mco_password,
    })),
  }
}
