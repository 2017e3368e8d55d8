# @summary rsyslog as the central log server of the nodes: UDP and TCP 514,
#   one directory per node under /var/log/remote/.
#
# @param package
#   The rsyslog package.
# @param service
#   The rsyslog service.
# @param confdir
#   rsyslog's drop-in directory.
# @param port
#   Listening port (UDP and TCP).
# @param log_root
#   Root of the per-node log directories.
class fuel::rsyslog (
  String $package,
  String $service,
  Fuel::Absolutepath $confdir,
  Fuel::Port $port = 514,
  Fuel::Absolutepath $log_root = '/var/log/remote',
) {
  package { $package:
    ensure => installed,
  }

  file { $log_root:
    ensure => directory,
    owner  => 'root',
    group  => 'root',
    mode   => '0750',
  }

  file { "${confdir}/30-fuel-remote.conf":
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('fuel/rsyslog/remote.conf.epp', { 'port' => $port, 'log_root' => $log_root }),
    require => Package[$package],
    notify  => Service[$service],
  }

  service { $service:
    ensure => running,
    enable => true,
  }
}
