-- Argo CD health of a WhatsAppBusinessAccount (whatsapp-operator.io/v1alpha1), from the
-- status the operator writes: the conditions Ready, Synced and Stalled, Meta's health, ban
-- state and restrictions of the WABA.
--   Progressing  not reconciled yet, spec or a requested resync not handled yet, first sync
--   Degraded     Stalled (token refused or missing, Meta rejects the read), disabled or
--                scheduled to be disabled, restricted, blocked, not Ready
--   Healthy      Ready
local hs = {}

local function condition(status, type_)
  if status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == type_ then
      return c
    end
  end
  return nil
end

local function message_of(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

local function result(status, message)
  hs.status = status
  hs.message = message
  return hs
end

local status = obj.status
if status == nil then
  return result("Progressing", "Waiting for whatsapp-operator to report the account's status")
end

local generation = obj.metadata.generation
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  return result("Progressing", "Waiting for whatsapp-operator to observe generation " .. tostring(generation))
end

local annotations = obj.metadata.annotations
local requested = annotations ~= nil and annotations["whatsapp-operator.io/reconcile-requested-at"] or nil
if requested ~= nil and requested ~= status.lastHandledReconcileAt then
  return result("Progressing", "Resync requested at " .. requested .. "; waiting for whatsapp-operator")
end

local ready = condition(status, "Ready")
local stalled = condition(status, "Stalled")
local synced = condition(status, "Synced")

if stalled ~= nil and stalled.status == "True" then
  return result("Degraded", "Stalled: " .. message_of(stalled, "a person must act"))
end

if status.banState == "DISABLE" then
  return result("Degraded", message_of(ready, "Meta disabled the WABA"))
end
if status.banState == "SCHEDULE_FOR_DISABLE" then
  return result("Degraded", "Meta scheduled the WABA to be disabled")
end

if status.health ~= nil and status.health.canSendMessage == "BLOCKED" then
  return result("Degraded", message_of(ready, "The WABA cannot send messages (health BLOCKED)"))
end

if status.restrictions ~= nil and #status.restrictions > 0 then
  local parts = {}
  for _, r in ipairs(status.restrictions) do
    local part = tostring(r.type)
    if r.expiration ~= nil then
      part = part .. " until " .. r.expiration
    end
    table.insert(parts, part)
  end
  return result("Degraded", "Meta restricted the account: " .. table.concat(parts, ", "))
end

if ready == nil or ready.status == "Unknown" then
  return result("Progressing", message_of(ready, "Waiting for the first sync with Meta"))
end

if ready.status == "True" then
  local message = message_of(ready, "Ready")
  if synced ~= nil and synced.status == "False" then
    message = message .. " (last sync failed: " .. message_of(synced, synced.reason or "unknown") .. ")"
  end
  return result("Healthy", message)
end

return result("Degraded", message_of(ready, "Not Ready"))
