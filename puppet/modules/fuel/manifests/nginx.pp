# @summary nginx, the front door: the UI and API on 8000 (and TLS on 8443),
#   the repository vhost on 8080.
#
# TLS uses the certificate and key given here, or a self-signed certificate
# generated on first run.
#
# @param package
#   The nginx package.
# @param service
#   The nginx service.
# @param confdir
#   nginx's conf.d directory.
# @param group
#   nginx's group (may read the TLS key).
# @param ssl_certificate
#   Path of a provided certificate; undef generates a self-signed one.
# @param ssl_key
#   Path of the key of the provided certificate.
# @param ui
#   Serve fuel-ui's static files (undef: fuel-ui installed).
# @param ostf
#   Proxy /ostf/ to OSTF (undef: ostf deployed).
# @param keystone
#   Proxy /keystone/ to Keystone (undef: keystone deployed).
# @param static_dir
#   fuel-ui's static files.
# @param repo_root
#   Root of the repository vhost.
class fuel::nginx (
  String $package,
  String $service,
  Fuel::Absolutepath $confdir,
  String $group,
  Optional[Fuel::Absolutepath] $ssl_certificate = undef,
  Optional[Fuel::Absolutepath] $ssl_key = undef,
  Optional[Boolean] $ui = undef,
  Optional[Boolean] $ostf = undef,
  Optional[Boolean] $keystone = undef,
  Fuel::Absolutepath $static_dir = '/usr/share/nailgun/static',
  Fuel::Absolutepath $repo_root = '/var/www/nailgun',
) {
  include fuel::settings

  # undef: follow what the fuel class deploys.
  $locations = ['ui', 'ostf', 'keystone'].reduce({}) |$memo, $c| {
    $given = getvar($c)
    $memo + {
      $c => $given ? {
        Boolean => $given,
        default => getvar("fuel::enabled.${c}") == true,
      },
    }
  }

  package { $package:
    ensure => installed,
  }

  if $ssl_certificate and $ssl_key {
    $cert = $ssl_certificate
    $key = $ssl_key
  } elsif $ssl_certificate or $ssl_key {
    fail('fuel::nginx: ssl_certificate and ssl_key must be given together')
  } else {
    $cert = '/etc/pki/fuel/nginx.crt'
    $key = '/etc/pki/fuel/nginx.key'

    file { '/etc/pki/fuel':
      ensure => directory,
      owner  => 'root',
      group  => 'root',
      mode   => '0755',
    }
    # umask 077: the key is never readable by others, not even briefly.
    exec { 'fuel self-signed certificate':
      command => join([
          "/bin/sh -c 'umask 077 && /usr/bin/openssl req -x509 -newkey rsa:3072 -nodes -days 3650",
          "-subj \"/CN=${fuel::settings::hostname}.${fuel::settings::dns_domain}\"",
          "-addext \"subjectAltName=IP:${fuel::settings::master_ip}\"",
          "-keyout ${key} -out ${cert}'",
      ], ' '),
      creates => $cert,
      require => File['/etc/pki/fuel'],
    }
    file { $key:
      ensure  => file,
      owner   => 'root',
      group   => $group,
      mode    => '0640',
      require => Exec['fuel self-signed certificate'],
      before  => Service[$service],
    }
    file { $cert:
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0644',
      require => Exec['fuel self-signed certificate'],
      before  => Service[$service],
    }
  }

  file { $repo_root:
    ensure => directory,
    owner  => 'root',
    group  => 'root',
    mode   => '0755',
  }

  file { "${confdir}/fuel-services.conf":
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('fuel/nginx/services.conf.epp', {
      'ui'         => $locations['ui'],
      'ostf'       => $locations['ostf'],
      'keystone'   => $locations['keystone'],
      'static_dir' => $static_dir,
      'cert'       => $cert,
      'key'        => $key,
    }),
    require => Package[$package],
    notify  => Service[$service],
  }
  file { "${confdir}/fuel-repo.conf":
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('fuel/nginx/repo.conf.epp', { 'root' => $repo_root }),
    require => Package[$package],
    notify  => Service[$service],
  }

  service { $service:
    ensure => running,
    enable => true,
  }
}
