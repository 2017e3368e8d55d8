# @summary The Fuel settings, read once from /etc/fuel/astute.yaml via hiera.
#
# Every other class reads its values from here. Secrets are wrapped in
# Sensitive so that they never appear in logs or reports; they are only
# unwrapped inside file contents written with mode 0640 or stricter, and
# into Sensitive exec environments.
#
# Keys read (the same names fuel-deploy writes on first run):
#   HOSTNAME, DNS_DOMAIN, DNS_SEARCH, DNS_UPSTREAM, NTP1..NTP3,
#   ADMIN_NETWORK.{interface,ipaddress,netmask,mac,dhcp_pool_start,
#   dhcp_pool_end,dhcp_gateway}, FUEL_ACCESS.{user,password},
#   postgres.{nailgun,keystone,ostf}_{dbname,user,password},
#   keystone.{admin_token,nailgun_user,nailgun_password,ostf_user,
#   ostf_password,monitord_user,monitord_password,external_url},
#   astute.{user,password}, mcollective.{user,password},
#   amqp.{external_host,port}, cobbler.{user,password}
#
# @api private
class fuel::settings {
  $admin_network = lookup('ADMIN_NETWORK', Hash, 'hash', {})
  $fuel_access   = lookup('FUEL_ACCESS', Hash, 'hash', {})
  $postgres      = lookup('postgres', Hash, 'hash', {})
  $keystone      = lookup('keystone', Hash, 'hash', {})
  $astute        = lookup('astute', Hash, 'hash', {})
  $mcollective   = lookup('mcollective', Hash, 'hash', {})
  $amqp          = lookup('amqp', Hash, 'hash', {})

  $hostname     = lookup('HOSTNAME', String, 'first', $facts['networking']['hostname'])
  $dns_domain   = lookup('DNS_DOMAIN', String, 'first', fuel::first_set([$facts['networking']['domain'], 'domain.tld']))
  $dns_search   = lookup('DNS_SEARCH', String, 'first', $dns_domain)
  $dns_upstream = String(lookup('DNS_UPSTREAM', Variant[String, Array[String]], 'first', '127.0.0.1'))
  $ntp_servers  = ['NTP1', 'NTP2', 'NTP3']
  .map |$k| { lookup($k, Optional[String], 'first', undef) }
  .filter |$v| { $v =~ String and $v != '' }

  $master_ip       = fuel::first_set([$admin_network['ipaddress'], $facts['networking']['ip']])
  $admin_interface = fuel::first_set([$admin_network['interface'], $facts['networking']['primary'], 'eth0'])
  $admin_netmask   = fuel::first_set([$admin_network['netmask'], '255.255.255.0'])
  $dhcp_pool_start = $admin_network['dhcp_pool_start']
  $dhcp_pool_end   = $admin_network['dhcp_pool_end']
  $dhcp_gateway    = fuel::first_set([$admin_network['dhcp_gateway'], $master_ip])

  $admin_user     = fuel::first_set([$fuel_access['user'], 'admin'])
  $admin_password = fuel::secret($fuel_access, 'password', 'FUEL_ACCESS')

  # Database and role names go into SQL and shell commands: plain names only.
  $nailgun_db_name      = fuel::identifier($postgres, 'nailgun_dbname', 'nailgun', 'postgres')
  $nailgun_db_user      = fuel::identifier($postgres, 'nailgun_user', 'nailgun', 'postgres')
  $nailgun_db_password  = fuel::secret($postgres, 'nailgun_password', 'postgres')
  $keystone_db_name     = fuel::identifier($postgres, 'keystone_dbname', 'keystone', 'postgres')
  $keystone_db_user     = fuel::identifier($postgres, 'keystone_user', 'keystone', 'postgres')
  $keystone_db_password = fuel::secret($postgres, 'keystone_password', 'postgres')
  $ostf_db_name         = fuel::identifier($postgres, 'ostf_dbname', 'ostf', 'postgres')
  $ostf_db_user         = fuel::identifier($postgres, 'ostf_user', 'ostf', 'postgres')
  $ostf_db_password     = fuel::secret($postgres, 'ostf_password', 'postgres')

  $keystone_admin_token       = fuel::secret($keystone, 'admin_token', 'keystone')
  $keystone_nailgun_user      = fuel::identifier($keystone, 'nailgun_user', 'nailgun', 'keystone')
  $keystone_nailgun_password  = fuel::secret($keystone, 'nailgun_password', 'keystone')
  $keystone_ostf_user         = fuel::identifier($keystone, 'ostf_user', 'ostf', 'keystone')
  $keystone_ostf_password     = fuel::secret($keystone, 'ostf_password', 'keystone')
  $keystone_monitord_user     = fuel::identifier($keystone, 'monitord_user', 'monitord', 'keystone')
  $keystone_monitord_password = fuel::secret($keystone, 'monitord_password', 'keystone')
  # Used when openstack-keystone is not installed here (see the fuel class).
  $keystone_external_url = $keystone['external_url'] ? {
    undef   => undef,
    ''      => undef,
    default => fuel::checked($keystone['external_url'], Pattern[/\Ahttps?:\/\/[^\/\s]+\z/],
      'keystone.external_url', 'a URL without path such as "https://keystone.example.com:5000"'),
  }

  $amqp_user     = fuel::identifier($astute, 'user', 'naily', 'astute')
  $amqp_password = fuel::secret($astute, 'password', 'astute')
  $amqp_port     = fuel::checked(fuel::first_set([$amqp['port'], 5672]), Fuel::Port, 'amqp.port', 'a port number')
  # Used when rabbitmq-server is not installed here (see the fuel class).
  $amqp_external_host = $amqp['external_host'] ? {
    undef   => undef,
    ''      => undef,
    default => fuel::checked($amqp['external_host'], Pattern[/\A[A-Za-z0-9.:\[\]-]+\z/],
      'amqp.external_host', 'a host name or address'),
  }

  $mco_user     = fuel::identifier($mcollective, 'user', 'mcollective', 'mcollective')
  $mco_password = fuel::secret($mcollective, 'password', 'mcollective')
}
