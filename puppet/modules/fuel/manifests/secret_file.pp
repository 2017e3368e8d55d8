# @summary A file that holds secrets from the Fuel settings.
#
# Always root-owned, readable by the service's group only, written without a
# diff and with Sensitive content so that no secret reaches a log or report.
#
# @param content
#   The file's content (Sensitive).
# @param group
#   The service's group (the package creates it).
# @param mode
#   0640 or stricter.
# @param path
#   The file's path.
define fuel::secret_file (
  Sensitive[String] $content,
  String $group,
  Pattern[/\A0[0-7][0-4]0\z/] $mode = '0640',
  Fuel::Absolutepath $path = $title,
) {
  file { $path:
    ensure    => file,
    owner     => 'root',
    group     => $group,
    mode      => $mode,
    content   => $content,
    show_diff => false,
    backup    => false,
  }
}
