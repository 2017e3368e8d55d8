# @summary Base packages, Fuel's state directories and the firewall (firewalld)
#   of the Fuel master node.
#
# The ports are opened with firewall-cmd in the permanent configuration of
# one zone (each checked with --query-port first), then firewalld reloads.
# Everything else is left to the zone's target (public: reject).
#
# @param packages
#   Base packages to install.
# @param firewall
#   Open the ports with firewalld. undef: when firewalld is installed (the
#   fuel_packages fact); true installs and starts it; false leaves the
#   firewall alone.
# @param firewall_zone
#   The firewalld zone of the admin network.
# @param tcp_ports
#   TCP ports open to the admin network.
# @param udp_ports
#   UDP ports open to the admin network.
# @param exec_path
#   Where commands are looked up (runuser, psql, rabbitmqctl, firewall-cmd...).
# @param firewalld_package
#   The firewalld package (installed when `firewall` is true).
class fuel::host (
  Array[String] $packages,
  Array[Fuel::Absolutepath] $exec_path,
  String $firewalld_package,
  Optional[Boolean] $firewall = undef,
  Fuel::Identifier $firewall_zone = 'public',
  Array[Fuel::Port] $tcp_ports = [22, 53, 514, 873, 5000, 5672, 8000, 8080, 8443, 8777, 35357, 61613],
  Array[Fuel::Port] $udp_ports = [53, 67, 69, 514],
) {
  package { $packages:
    ensure => installed,
  }

  file { ['/var/log/fuel', '/var/lib/fuel']:
    ensure => directory,
    owner  => 'root',
    group  => 'root',
    mode   => '0750',
  }

  $firewalld_installed = $facts.dig('fuel_packages', $firewalld_package) =~ NotUndef
  $manage_firewall = $firewall ? {
    Boolean => $firewall,
    default => $firewalld_installed,
  }

  if $manage_firewall {
    package { $firewalld_package:
      ensure => installed,
    }
    -> service { 'firewalld':
      ensure => running,
      enable => true,
    }

    $rules = $tcp_ports.map |$p| { "${p}/tcp" } + $udp_ports.map |$p| { "${p}/udp" }
    $rules.each |$rule| {
      exec { "firewalld ${firewall_zone} ${rule}":
        command => "firewall-cmd --permanent --zone=${firewall_zone} --add-port=${rule}",
        unless  => "firewall-cmd --permanent --zone=${firewall_zone} --query-port=${rule}",
        path    => $exec_path,
        require => Service['firewalld'],
        notify  => Exec['firewalld reload'],
      }
    }
    exec { 'firewalld reload':
      command     => 'firewall-cmd --reload',
      path        => $exec_path,
      refreshonly => true,
    }
  }
}
