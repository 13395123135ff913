// AcrPull on one Azure Container Registry for a principal (main.bicep deploys this into the
// registry's resource group, so the role assignment can be scoped to the registry).

@description('Name of the registry (in this module\'s resource group).')
param registryName string

@description('Object (principal) id that pulls images: the managed identity made by main.bicep.')
param principalId string

@description('A value known before the deployment starts that identifies the principal (the role assignment\'s name is derived from it).')
param principalKey string

// Built-in role AcrPull (the same id in every tenant).
var roleAcrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

resource pull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, principalKey, roleAcrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleAcrPull)
    principalId: principalId
    // Set for an identity made moments ago: ARM then does not wait for it to replicate.
    principalType: 'ServicePrincipal'
  }
}

output roleAssignmentId string = pull.id
