# @summary PXE provisioning of the nodes: DHCP, DNS and TFTP on the admin
#   network with dnsmasq. Optional, off by default (fuel::provisioning).
#
# Cobbler is not deployed: dnsmasq serves DHCP/TFTP and fuel-agent's image
# based provisioning needs nothing more on the master node.
#
# @param package
#   The dnsmasq package.
# @param service
#   The dnsmasq service.
# @param tftp_root
#   TFTP root with the bootstrap kernel and initrd.
class fuel::provisioning (
  String $package,
  String $service,
  Fuel::Absolutepath $tftp_root,
) {
  include fuel::settings

  if !$fuel::settings::dhcp_pool_start or !$fuel::settings::dhcp_pool_end {
    fail('fuel::provisioning needs ADMIN_NETWORK.dhcp_pool_start and dhcp_pool_end in the Fuel settings')
  }

  package { $package:
    ensure => installed,
  }

  file { $tftp_root:
    ensure => directory,
    owner  => 'root',
    group  => 'root',
    mode   => '0755',
  }

  file { '/etc/dnsmasq.d/fuel.conf':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('fuel/provisioning/dnsmasq.conf.epp', {
      'interface'    => $fuel::settings::admin_interface,
      'master_ip'    => $fuel::settings::master_ip,
      'netmask'      => $fuel::settings::admin_netmask,
      'pool_start'   => $fuel::settings::dhcp_pool_start,
      'pool_end'     => $fuel::settings::dhcp_pool_end,
      'gateway'      => $fuel::settings::dhcp_gateway,
      'domain'       => $fuel::settings::dns_domain,
      'dns_upstream' => $fuel::settings::dns_upstream,
      'tftp_root'    => $tftp_root,
    }),
    require => Package[$package],
    notify  => Service[$service],
  }

  service { $service:
    ensure => running,
    enable => true,
  }
}
