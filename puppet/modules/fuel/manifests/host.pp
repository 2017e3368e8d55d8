# @summary Base packages and firewall rules of the Fuel master node.
#
# @param packages
#   Base packages to install.
# @param manage_firewall_service
#   Let puppetlabs-firewall manage the iptables service (RedHat family).
# @param tcp_ports
#   TCP ports open to the admin network.
# @param udp_ports
#   UDP ports open to the admin network.
# @param default_drop
#   Drop all other incoming traffic (rule 999).
class fuel::host (
  Array[String] $packages = $fuel::params::base_packages,
  Boolean $manage_firewall_service = $fuel::params::firewall_manage,
  Array[Stdlib::Port] $tcp_ports = [22, 53, 514, 873, 5000, 5672, 8000, 8080, 8443, 8777, 35357, 61613],
  Array[Stdlib::Port] $udp_ports = [53, 67, 69, 514],
  Boolean $default_drop = true,
) inherits fuel::params {
  ensure_packages($packages)

  file { ['/var/log/fuel', '/var/lib/fuel']:
    ensure => directory,
    owner  => 'root',
    group  => 'root',
    mode   => '0750',
  }

  if $manage_firewall_service {
    class { 'firewall': }
  }

  # puppetlabs-firewall 7 folded `action` into `jump` (Debian ships 3.x, EL9's RDO 8.x):
  # say accept/drop in whichever the installed module understands.
  $verdict_key = versioncmp(load_module_metadata('firewall')['version'], '7.0.0') >= 0 ? {
    true    => 'jump',
    default => 'action',
  }
  $accept = { $verdict_key => 'accept' }

  firewall { '000 accept related established':
    proto   => 'all',
    ctstate => ['RELATED', 'ESTABLISHED'],
    *       => $accept,
  }
  firewall { '001 accept icmp':
    proto => 'icmp',
    *     => $accept,
  }
  firewall { '002 accept loopback':
    proto   => 'all',
    iniface => 'lo',
    *       => $accept,
  }
  firewall { '100 fuel master tcp ports':
    proto => 'tcp',
    dport => $tcp_ports,
    *     => $accept,
  }
  firewall { '101 fuel master udp ports':
    proto => 'udp',
    dport => $udp_ports,
    *     => $accept,
  }

  if $default_drop {
    firewall { '999 drop all other input':
      proto => 'all',
      *     => { $verdict_key => 'drop' },
    }
  }
}
