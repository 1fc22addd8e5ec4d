-- Argo CD actions of whatsapp-operator resources: "resync" asks the operator to read Meta
-- again now instead of at the next sync interval (and lifts a registration retry wait).
local actions = {}
actions["resync"] = {
  ["disabled"] = false,
  ["displayName"] = "Resync with Meta",
  ["iconClass"] = "fa fa-fw fa-sync",
}
return actions
