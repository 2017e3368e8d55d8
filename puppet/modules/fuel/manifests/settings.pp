# @summary The Fuel settings, read once from /etc/fuel/astute.yaml via hiera.
#
# Every other class reads its values from here. Secrets are wrapped in
# Sensitive so that they never appear in logs or reports; they are only
# unwrapped inside file contents written with mode 0640 or stricter.
#
# Keys read (the same names fuel-deploy writes on first run):
#   HOSTNAME, DNS_DOMAIN, DNS_SEARCH, DNS_UPSTREAM, NTP1..NTP3,
#   ADMIN_NETWORK.{interface,ipaddress,netmask,mac,dhcp_pool_start,
#   dhcp_pool_end,dhcp_gateway}, FUEL_ACCESS.{user,password},
#   postgres.{nailgun,keystone,ostf}_{dbname,user,password},
#   keystone.{admin_token,nailgun_user,nailgun_password,ostf_user,
#   ostf_password,monitord_user,monitord_password},
#   astute.{user,password}, mcollective.{user,password},
#   cobbler.{user,password}
#
# @api private
class fuel::settings {
  $admin_network = lookup('ADMIN_NETWORK', Hash, 'hash', {})
  $fuel_access   = lookup('FUEL_ACCESS', Hash, 'hash', {})
  $postgres      = lookup('postgres', Hash, 'hash', {})
  $keystone      = lookup('keystone', Hash, 'hash', {})
  $astute        = lookup('astute', Hash, 'hash', {})
  $mcollective   = lookup('mcollective', Hash, 'hash', {})

  $hostname     = lookup('HOSTNAME', String, 'first', $facts['networking']['hostname'])
  $dns_domain   = lookup('DNS_DOMAIN', String, 'first', pick($facts['networking']['domain'], 'domain.tld'))
  $dns_search   = lookup('DNS_SEARCH', String, 'first', $dns_domain)
  $dns_upstream = String(lookup('DNS_UPSTREAM', Variant[String, Array[String]], 'first', '127.0.0.1'))
  $ntp_servers  = ['NTP1', 'NTP2', 'NTP3']
  .map |$k| { lookup($k, Optional[String], 'first', undef) }
  .filter |$v| { $v =~ String and $v != '' }

  $master_ip       = pick($admin_network['ipaddress'], $facts['networking']['ip'])
  $admin_interface = pick($admin_network['interface'], $facts['networking']['primary'], 'eth0')
  $admin_netmask   = pick($admin_network['netmask'], '255.255.255.0')
  $dhcp_pool_start = $admin_network['dhcp_pool_start']
  $dhcp_pool_end   = $admin_network['dhcp_pool_end']
  $dhcp_gateway    = pick($admin_network['dhcp_gateway'], $master_ip)

  $admin_user     = pick($fuel_access['user'], 'admin')
  $admin_password = fuel::secret($fuel_access, 'password', 'FUEL_ACCESS')

  $nailgun_db_name     = pick($postgres['nailgun_dbname'], 'nailgun')
  $nailgun_db_user     = pick($postgres['nailgun_user'], 'nailgun')
  $nailgun_db_password = fuel::secret($postgres, 'nailgun_password', 'postgres')
  $keystone_db_name     = pick($postgres['keystone_dbname'], 'keystone')
  $keystone_db_user     = pick($postgres['keystone_user'], 'keystone')
  $keystone_db_password = fuel::secret($postgres, 'keystone_password', 'postgres')
  $ostf_db_name     = pick($postgres['ostf_dbname'], 'ostf')
  $ostf_db_user     = pick($postgres['ostf_user'], 'ostf')
  $ostf_db_password = fuel::secret($postgres, 'ostf_password', 'postgres')

  $keystone_admin_token      = fuel::secret($keystone, 'admin_token', 'keystone')
  $keystone_nailgun_user     = pick($keystone['nailgun_user'], 'nailgun')
  $keystone_nailgun_password = fuel::secret($keystone, 'nailgun_password', 'keystone')
  $keystone_ostf_user        = pick($keystone['ostf_user'], 'ostf')
  $keystone_ostf_password    = fuel::secret($keystone, 'ostf_password', 'keystone')
  $keystone_monitord_user     = pick($keystone['monitord_user'], 'monitord')
  $keystone_monitord_password = fuel::secret($keystone, 'monitord_password', 'keystone')

  $amqp_user     = pick($astute['user'], 'naily')
  $amqp_password = fuel::secret($astute, 'password', 'astute')

  $mco_user     = pick($mcollective['user'], 'mcollective')
  $mco_password = fuel::secret($mcollective, 'password', 'mcollective')
}
