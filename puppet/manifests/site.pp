# The Fuel master node.
#
# Applied by fuel-deploy:
#   puppet apply --detailed-exitcodes \
#     --modulepath /usr/share/fuel/puppet/modules \
#     --hiera_config /usr/share/fuel/puppet/hiera.yaml \
#     /usr/share/fuel/puppet/manifests/site.pp
#
# All settings come from /etc/fuel/astute.yaml through hiera. The fuel
# module needs no other Puppet module.
node default {
  include fuel
}
