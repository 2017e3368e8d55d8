# @summary RabbitMQ for astute and MCollective, from plain resources and rabbitmqctl.
#
# astute's user naily on vhost /, MCollective's user mcollective on vhost
# mcollective with STOMP on 61613 (no Forge module). The guest user is
# removed.
#
# Deployed only where rabbitmq-server is installed (see the fuel class).
# Passwords never reach a command line: they are kept in root-only 0600
# files and fed to `rabbitmqctl add_user USER`, `change_password USER` and
# `authenticate_user USER` on standard input (rabbitmqctl reads the password
# from stdin when the argument is omitted).
#
# @param package
#   The server package.
# @param service
#   The server unit.
# @param amqp_port
#   AMQP port.
# @param stomp_port
#   STOMP port used by MCollective.
# @param statedir
#   Root-only directory for the password files.
# @param exec_path
#   Where commands are looked up (runuser, psql, rabbitmqctl, firewall-cmd...).
class fuel::rabbitmq (
  String $package,
  String $service,
  Array[Fuel::Absolutepath] $exec_path,
  Fuel::Port $amqp_port = 5672,
  Fuel::Port $stomp_port = 61613,
  Fuel::Absolutepath $statedir = '/var/lib/fuel/rabbitmq',
) {
  include fuel::settings

  package { $package:
    ensure => installed,
  }

  file { '/etc/rabbitmq/rabbitmq.conf':
    ensure  => file,
    owner   => 'root',
    group   => 'rabbitmq',
    mode    => '0640',
    content => epp('fuel/rabbitmq/rabbitmq.conf.epp', { 'amqp_port' => $amqp_port, 'stomp_port' => $stomp_port }),
    require => Package[$package],
    notify  => Service[$service],
  }
  file { '/etc/rabbitmq/enabled_plugins':
    ensure  => file,
    owner   => 'root',
    group   => 'rabbitmq',
    mode    => '0644',
    content => "[rabbitmq_stomp].\n",
    require => Package[$package],
    notify  => Service[$service],
  }

  service { $service:
    ensure => running,
    enable => true,
  }

  $ctl = 'rabbitmqctl -q'
  $defaults = {
    provider  => 'shell',
    path      => $exec_path,
    logoutput => 'on_failure',
  }

  # The unit reports started before the broker accepts commands.
  exec { 'rabbitmq await startup':
    command => "${ctl} await_startup",
    unless  => 'rabbitmq-diagnostics -q check_running',
    require => Service[$service],
    *       => $defaults,
  }

  exec { 'rabbitmq vhost mcollective':
    command => "${ctl} add_vhost mcollective",
    unless  => "${ctl} list_vhosts name | grep -qxF mcollective",
    require => Exec['rabbitmq await startup'],
    *       => $defaults,
  }

  file { $statedir:
    ensure => directory,
    owner  => 'root',
    group  => 'root',
    mode   => '0700',
  }

  $users = {
    $fuel::settings::amqp_user => {
      'password' => $fuel::settings::amqp_password,
      'tags'     => 'administrator',
      'vhost'    => '/',
    },
    $fuel::settings::mco_user  => {
      'password' => $fuel::settings::mco_password,
      'tags'     => '',
      'vhost'    => 'mcollective',
    },
  }

  $users.each |$user, $u| {
    $password_file = "${statedir}/${user}.password"
    file { $password_file:
      ensure    => file,
      owner     => 'root',
      group     => 'root',
      mode      => '0600',
      content   => $u['password'],
      show_diff => false,
      backup    => false,
    }
    exec { "rabbitmq user ${user}":
      command => "${ctl} add_user ${user} < ${password_file}",
      unless  => "${ctl} list_users | cut -f1 | grep -qxF ${user}",
      require => [Exec['rabbitmq await startup'], File[$password_file]],
      *       => $defaults,
    }
    # Also applies a password changed in the settings.
    exec { "rabbitmq password ${user}":
      command => "${ctl} change_password ${user} < ${password_file}",
      unless  => "${ctl} authenticate_user ${user} < ${password_file}",
      require => Exec["rabbitmq user ${user}"],
      *       => $defaults,
    }
    exec { "rabbitmq tags ${user}":
      command => "${ctl} set_user_tags ${user} ${u['tags']}",
      unless  => "${ctl} list_users | grep -qxF '${user}\t[${u['tags']}]'",
      require => Exec["rabbitmq user ${user}"],
      *       => $defaults,
    }
    $vhost_require = $u['vhost'] ? {
      '/'     => [],
      default => [Exec["rabbitmq vhost ${u['vhost']}"]],
    }
    exec { "rabbitmq permissions ${user}@${u['vhost']}":
      command => "${ctl} set_permissions -p ${u['vhost']} ${user} '.*' '.*' '.*'",
      unless  => "${ctl} list_user_permissions ${user} | grep -qxF '${u['vhost']}\t.*\t.*\t.*'",
      require => [Exec["rabbitmq user ${user}"]] + $vhost_require,
      *       => $defaults,
    }
  }

  exec { 'rabbitmq remove guest':
    command => "${ctl} delete_user guest",
    onlyif  => "${ctl} list_users | cut -f1 | grep -qxF guest",
    require => Exec['rabbitmq await startup'],
    *       => $defaults,
  }
}
