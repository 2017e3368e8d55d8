# @summary Operating system differences for the Fuel master node.
#
# Every package name, service name and path that differs between the
# supported distributions is set here, and only here:
#
# * RedHat family: EL9 and EL10 (CentOS Stream, RHEL, Rocky, Alma), Fedora
# * SUSE family: openSUSE Leap 16 (package names unverified: no Leap 16
#   repository was reachable when this was written)
#
# The other classes read these values as their parameter defaults, so a
# site can still override any of them through hiera.
#
# @api private
class fuel::params {
  case $facts['os']['family'] {
    'RedHat': {
      # EL9 AppStream: PostgreSQL 13, EL10: 16, Fedora 44/45: 16 or later;
      # all with the unversioned names and postgresql-setup for initdb.
      $postgresql_package   = 'postgresql-server'
      $postgresql_bindir    = '/usr/bin'
      $postgresql_initdb    = '/usr/bin/postgresql-setup --initdb'
      $postgresql_initdb_as = 'root'
      $base_packages        = ['openssl', 'cronie', 'rsync', 'sudo', 'logrotate']
      $httpd_package        = 'httpd'
      $httpd_service        = 'httpd'
      $httpd_confdir        = '/etc/httpd/conf.d'
      $httpd_user           = 'apache'
      $wsgi_package         = 'python3-mod_wsgi'
      $rsync_package        = 'rsync-daemon'
      $tftp_root            = '/var/lib/tftpboot'
    }
    'Suse': {
      # Versioned package names on SUSE; Leap 16's default is assumed to be
      # PostgreSQL 17 (unverified). The unit is `postgresql` for every version.
      $postgresql_version   = '17'
      $postgresql_package   = "postgresql${postgresql_version}-server"
      $postgresql_bindir    = "/usr/lib/postgresql${postgresql_version}/bin"
      $postgresql_initdb    = join([
          "${postgresql_bindir}/initdb --pgdata=/var/lib/pgsql/data --encoding=UTF8",
          '--auth-local=peer --auth-host=scram-sha-256',
      ], ' ')
      $postgresql_initdb_as = 'postgres'
      # rsync itself comes with fuel::rsync's package on SUSE.
      $base_packages        = ['openssl', 'cron', 'sudo', 'logrotate']
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
  $postgresql_service = 'postgresql'
  $postgresql_datadir = '/var/lib/pgsql/data'
  $nginx_package      = 'nginx'
  $nginx_service      = 'nginx'
  $nginx_confdir      = '/etc/nginx/conf.d'
  $nginx_group        = 'nginx'
  $rabbitmq_package   = 'rabbitmq-server'
  $rabbitmq_service   = 'rabbitmq-server'
  $rsyslog_package    = 'rsyslog'
  $rsyslog_service    = 'rsyslog'
  $rsyslog_confdir    = '/etc/rsyslog.d'
  $rsync_service      = 'rsyncd'
  $dnsmasq_package    = 'dnsmasq'
  $dnsmasq_service    = 'dnsmasq'
  $keystone_package   = 'openstack-keystone'
  $keystone_group     = 'keystone'
  $firewalld_package  = 'firewalld'
  # Where commands are looked up (runuser, psql, rabbitmqctl, firewall-cmd...).
  $exec_path          = ['/usr/sbin', '/usr/bin', '/sbin', '/bin']

  # Component name => RPM that provides it. undef: a distribution service
  # that Puppet installs itself, always deployed. A component with a
  # package is deployed only when that package is installed (see the
  # fuel_packages fact and fuel::components): EL10 may lack rabbitmq-server,
  # only EL9 (RDO) has openstack-keystone.
  $component_packages = {
    'postgresql'  => undef,
    'rabbitmq'    => 'rabbitmq-server',
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
