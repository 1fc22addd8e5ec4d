-- Sets the annotation whatsapp-operator watches to force a sync; any new value works, and the
-- operator echoes the value it handled in status.lastHandledReconcileAt.
local os = require("os")
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["whatsapp-operator.io/reconcile-requested-at"] = os.date("!%Y-%m-%dT%XZ")
return obj
