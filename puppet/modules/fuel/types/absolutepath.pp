# @summary An absolute POSIX path.
type Fuel::Absolutepath = Pattern[/\A\/([^\/\0]+\/*)*\z/]
