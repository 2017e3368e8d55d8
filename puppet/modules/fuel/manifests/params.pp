# @summary Operating system differences for the Fuel master node.
#
# Every package name, service name and path that differs between the
# supported distributions is set here, and only here:
#
# * RedHat family: EL9 (CentOS Stream, RHEL, Rocky, Alma) and Fedora
# * SUSE family: openSUSE Leap 15 / SLES 15
#
# The other classes read these values as their parameter defaults, so a
# site can still override any of them through hiera.
#
# @api private
class fuel::params {
  case $facts['os']['family'] {
    'RedHat': {
      # EL9 AppStream ships PostgreSQL 13 as the default stream; Fedora 41
      # ships 16. Both use the unversioned package and service names, which
      # puppetlabs-postgresql only picks itself for the versions it knows.
      $postgresql_version = $facts['os']['name'] ? {
        'Fedora' => '16',
        default  => '13',
      }
      $postgresql_globals = {
        'version'              => $postgresql_version,
        'client_package_name'  => 'postgresql',
        'server_package_name'  => 'postgresql-server',
        'contrib_package_name' => 'postgresql-contrib',
        'service_name'         => 'postgresql',
        'bindir'               => '/usr/bin',
        'datadir'              => '/var/lib/pgsql/data',
        'confdir'              => '/var/lib/pgsql/data',
        'needs_initdb'         => true,
      }
      $base_packages        = ['openssl', 'cronie', 'rsync', 'sudo', 'logrotate']
      $firewall_manage      = true
      $httpd_package        = 'httpd'
      $httpd_service        = 'httpd'
      $httpd_confdir        = '/etc/httpd/conf.d'
      $httpd_user           = 'apache'
      $wsgi_package         = 'python3-mod_wsgi'
      $rsync_package        = 'rsync-daemon'
      $tftp_root            = '/var/lib/tftpboot'
    }
    'Suse': {
      $postgresql_version = '16'
      $postgresql_globals = {
        'version'             => $postgresql_version,
        'client_package_name' => "postgresql${postgresql_version}",
        'server_package_name' => "postgresql${postgresql_version}-server",
        'service_name'        => 'postgresql',
        'bindir'              => "/usr/lib/postgresql${postgresql_version}/bin",
        'datadir'             => '/var/lib/pgsql/data',
        'confdir'             => '/var/lib/pgsql/data',
        'needs_initdb'        => true,
      }
      $base_packages        = ['openssl', 'cron', 'rsync', 'sudo', 'logrotate']
      # puppetlabs-firewall manages no iptables service on SUSE (firewalld is
      # the distribution default); the rules are applied, not persisted.
      $firewall_manage      = false
      $httpd_package        = 'apache2'
      $httpd_service        = 'apache2'
      $httpd_confdir        = '/etc/apache2/vhosts.d'
      $httpd_user           = 'wwwrun'
      $wsgi_package         = 'apache2-mod_wsgi-python3'
      $rsync_package        = 'rsync'
      $tftp_root            = '/srv/tftpboot'
    }
    default: {
      fail("fuel: unsupported OS family ${facts['os']['family']} (supported: RedHat, Suse)")
    }
  }

  # Identical on every supported distribution (kept here so that a
  # difference found later has one place to go).
  $nginx_package      = 'nginx'
  $nginx_service      = 'nginx'
  $nginx_confdir      = '/etc/nginx/conf.d'
  $nginx_group        = 'nginx'
  $rabbitmq_service   = 'rabbitmq-server'
  $rsyslog_package    = 'rsyslog'
  $rsyslog_service    = 'rsyslog'
  $rsyslog_confdir    = '/etc/rsyslog.d'
  $rsync_service      = 'rsyncd'
  $dnsmasq_package    = 'dnsmasq'
  $dnsmasq_service    = 'dnsmasq'
  $keystone_package   = 'openstack-keystone'
  $keystone_group     = 'keystone'

  # Component name => RPM that provides it. undef: a distribution service
  # that Puppet installs itself, always deployed. A component with a
  # package is deployed only when that package is installed (see the
  # fuel_packages fact and fuel::components).
  $component_packages = {
    'postgresql'  => undef,
    'rabbitmq'    => undef,
    'mcollective' => 'mcollective',
    'astute'      => 'astute',
    'keystone'    => 'openstack-keystone',
    'nailgun'     => 'fuel-nailgun',
    'ostf'        => 'fuel-ostf',
    'ui'          => 'fuel-ui',
    'nginx'       => undef,
    'rsyslog'     => undef,
    'rsync'       => undef,
  }
}
