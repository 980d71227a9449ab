# STAND-IN (Dockyard tests only): evaluate a gitlab.rb the way omnibus does (it is Ruby: top-level
# names are settings objects, `name 'value'` sets a top-level one) and print what it set as JSON.
require 'json'

$dockyard_settings = {}

def method_missing(name, *args)
  return super unless equal?(TOPLEVEL_BINDING.receiver) && name.to_s.match?(/\A[a-z_][a-z0-9_]*\z/)

  key = name.to_s
  return $dockyard_settings[key] = args.first unless args.empty?

  $dockyard_settings[key] ||= Hash.new { |hash, sub| hash[sub] = Hash.new(&hash.default_proc) }
end

load ARGV[0]
puts JSON.generate($dockyard_settings)
