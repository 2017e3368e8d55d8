# The Fuel master node.
#
# Applied by fuel-deploy:
#   puppet apply --detailed-exitcodes \
#     --modulepath /usr/share/fuel/puppet/modules:<distribution modules> \
#     --hiera_config /usr/share/fuel/puppet/hiera.yaml \
#     /usr/share/fuel/puppet/manifests/site.pp
#
# All settings come from /etc/fuel/astute.yaml through hiera.
node default {
  include fuel
}
