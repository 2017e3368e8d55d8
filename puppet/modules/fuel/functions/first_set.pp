# @summary The first value that is neither undef nor an empty string.
#
# Replaces stdlib's pick() with core Puppet: settings fall back to facts
# and then to a default.
#
# @param values candidates, in order of preference
# @return [Any] the first usable value; fails when there is none
function fuel::first_set(Array $values) >> Any {
  $set = $values.filter |$v| { $v =~ NotUndef and $v != '' }
  if $set.empty {
    fail('fuel::first_set: no value given (internal error)')
  }
  $set[0]
}
