# @summary RabbitMQ for astute (user naily, vhost /) and MCollective
#   (user mcollective, vhost mcollective, STOMP on 61613). The guest user
#   is removed.
#
# @param stomp_port
#   STOMP port used by MCollective.
# @param amqp_port
#   AMQP port.
class fuel::rabbitmq (
  Stdlib::Port $stomp_port = 61613,
  Stdlib::Port $amqp_port = 5672,
) inherits fuel::params {
  include fuel::settings

  class { 'rabbitmq':
    port              => $amqp_port,
    service_name      => $fuel::params::rabbitmq_service,
    delete_guest_user => true,
    repos_ensure      => false,
    manage_python     => false,
    # The management plugin would pull rabbitmqadmin via puppet-archive on
    # RedHat; Fuel does not need it.
    admin_enable      => false,
    config_stomp      => true,
    stomp_ensure      => true,
    stomp_port        => $stomp_port,
  }

  rabbitmq_vhost { 'mcollective':
    ensure => present,
  }

  rabbitmq_user { $fuel::settings::amqp_user:
    admin    => true,
    password => $fuel::settings::amqp_password,
  }
  rabbitmq_user_permissions { "${fuel::settings::amqp_user}@/":
    configure_permission => '.*',
    read_permission      => '.*',
    write_permission     => '.*',
  }

  rabbitmq_user { $fuel::settings::mco_user:
    admin    => false,
    password => $fuel::settings::mco_password,
  }
  rabbitmq_user_permissions { "${fuel::settings::mco_user}@mcollective":
    configure_permission => '.*',
    read_permission      => '.*',
    write_permission     => '.*',
    require              => Rabbitmq_vhost['mcollective'],
  }
}
