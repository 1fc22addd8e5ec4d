-- Argo CD health of a WhatsAppChannel (whatsapp-operator.io/v1alpha1), from the status the
-- operator writes: phase, Meta's status of the number, health and the conditions Ready,
-- Registered, Synced and Stalled.
--   Progressing  not reconciled yet, spec or a requested resync not handled yet, onboarding
--                (adding, waiting for Meta's display name, registering), being deleted
--   Suspended    waiting for a person: the verification code Meta sent, or an ObserveOnly
--                number that is registered outside the operator
--   Degraded     Stalled, banned, restricted, flagged, disconnected, blocked, not Ready
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
  return result("Progressing", "Waiting for whatsapp-operator to report the channel's status")
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

local phase = status.phase
local ready = condition(status, "Ready")
local registered = condition(status, "Registered")
local stalled = condition(status, "Stalled")
local synced = condition(status, "Synced")

if phase == "Deleting" then
  return result("Progressing", "Being deleted: " .. message_of(synced, "cleaning up at Meta"))
end

if stalled ~= nil and stalled.status == "True" then
  return result("Degraded", "Stalled: " .. message_of(stalled, "a person must act"))
end

local degradedStatus = {
  BANNED = true,
  RESTRICTED = true,
  FLAGGED = true,
  DISCONNECTED = true,
  DELETED = true,
  MIGRATED = true,
}
local metaStatus = status.status
if metaStatus ~= nil and degradedStatus[metaStatus] then
  return result("Degraded", "Meta reports the number as " .. metaStatus .. ": " .. message_of(ready, "see the Ready condition"))
end

local canSend = status.health ~= nil and status.health.canSendMessage or nil
if canSend == "BLOCKED" then
  return result("Degraded", message_of(ready, "The number cannot send messages (health BLOCKED)"))
end

local onboarding = {
  Pending = true,
  Adding = true,
  AwaitingDisplayName = true,
  AwaitingVerificationCode = true,
  Registering = true,
}
if onboarding[phase] then
  if obj.spec ~= nil and obj.spec.management == "ObserveOnly" and status.lastSyncTime ~= nil then
    return result("Suspended", "ObserveOnly: Meta reports the number as " .. tostring(metaStatus or "not registered") ..
      "; it is registered outside whatsapp-operator")
  end
  if phase == "AwaitingVerificationCode" and registered ~= nil and registered.reason == "AwaitingVerificationCode" then
    return result("Suspended", message_of(registered, "Waiting for the verification code"))
  end
  return result("Progressing", message_of(registered, message_of(ready, "Onboarding: phase " .. phase)))
end

if ready == nil or ready.status == "Unknown" then
  return result("Progressing", message_of(ready, "Waiting for the first sync of the account"))
end

if ready.status == "True" then
  local message = message_of(ready, "Ready")
  if synced ~= nil and synced.status == "False" then
    message = message .. " (last sync failed: " .. message_of(synced, synced.reason or "unknown") .. ")"
  end
  return result("Healthy", message)
end

return result("Degraded", message_of(ready, "Not Ready"))
