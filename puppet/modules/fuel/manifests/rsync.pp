# @summary rsync daemon serving the Puppet modules and the plugins to the
#   nodes (read only).
#
# @param package
#   The package with the rsync daemon unit.
# @param service
#   The rsync daemon unit.
# @param puppet_path
#   Directory served as the `puppet` module.
# @param plugins_path
#   Directory served as the `plugins` module.
# @param port
#   Listening port.
class fuel::rsync (
  String $package,
  String $service,
  Fuel::Absolutepath $puppet_path = '/etc/puppet',
  Fuel::Absolutepath $plugins_path = '/var/www/nailgun/plugins',
  Fuel::Port $port = 873,
) {
  package { $package:
    ensure => installed,
  }

  file { '/etc/rsyncd.conf':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('fuel/rsync/rsyncd.conf.epp', {
      'port'    => $port,
      'modules' => { 'puppet' => $puppet_path, 'plugins' => $plugins_path },
    }),
    require => Package[$package],
    notify  => Service[$service],
  }

  service { $service:
    ensure => running,
    enable => true,
  }
}
