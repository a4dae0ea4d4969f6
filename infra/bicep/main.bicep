// FetchFunctions on a Flex Consumption plan: storage, identity, monitoring, plan and function app.
// Deploy into an existing resource group: az deployment group create -g <rg> -p infra/bicep/main.bicepparam
// Every connection uses the user-assigned managed identity; the storage account has no shared keys.
targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

@description('Azure region for every resource. Must be a region with Flex Consumption (az functionapp list-flexconsumption-locations).')
param location string = resourceGroup().location

@description('Short environment name used as the middle part of resource names, e.g. "fetch" or "fetch-prod". Lowercase letters, digits and hyphens.')
@minLength(1)
@maxLength(20)
param environmentName string = 'fetch'

@description('Suffix that makes global names unique (lowercase letters and digits; the storage account is st<token>). The default is stable for one subscription, resource group and environment name, so redeployments update in place.')
@minLength(5)
@maxLength(13)
param resourceToken string = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))

@description('Tags applied to every resource.')
param tags object = {}

@description('Storage account redundancy.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
])
param storageSkuName string = 'Standard_LRS'

@description('Log Analytics retention in days.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Flex Consumption scale-out cap: the most instances the app ever runs. Every instance multiplies the load on target sites (see README "Deploy to Azure"), so the default is small.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 10

@description('Memory of each Flex Consumption instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// Fetch:* and Crawl:* options of FetchFunctions.Core, bound from app settings (Fetch__X is the configuration key Fetch:X).
// Ranges mirror the options' validation so a bad value fails here rather than at app start-up.

@description('Fetch:MaxConnectionsPerServer: HTTP connections kept per target server (scheme, host, port) on one instance.')
@minValue(1)
@maxValue(1024)
param fetchMaxConnectionsPerServer int = 16

@description('Fetch:MaxBodyBytes: largest response body stored; a larger body is stopped and reported too-large. Default 256 MiB.')
@minValue(1)
@maxValue(68719476736)
param fetchMaxBodyBytes int = 268435456

@description('Fetch:MaxRetries: retries after the first attempt on 408, 429, 5xx and transient network errors.')
@minValue(0)
@maxValue(10)
param fetchMaxRetries int = 3

@description('Fetch:AttemptTimeout (TimeSpan hh:mm:ss): time for one HTTP attempt to produce response headers; less than Fetch:TotalTimeout.')
param fetchAttemptTimeout string = '00:00:10'

@description('Fetch:TotalTimeout (TimeSpan hh:mm:ss): time for response headers across all retries of one hop; at most Fetch:FetchDeadline.')
param fetchTotalTimeout string = '00:01:00'

@description('Fetch:FetchDeadline (TimeSpan hh:mm:ss): time for the whole fetch of one URL, redirects, retries and body included.')
param fetchDeadline string = '00:02:00'

@description('Crawl:MaxBatchesInFlight: fetch-batch activities one job (orchestration) keeps in flight at once.')
@minValue(1)
param crawlMaxBatchesInFlight int = 8

@description('Crawl:MaxConcurrency: concurrent requests inside one fetch batch.')
@minValue(1)
param crawlMaxConcurrency int = 16

@description('Crawl:MaxConcurrencyPerHost: concurrent requests to one target host inside one fetch batch.')
@minValue(1)
param crawlMaxConcurrencyPerHost int = 4

// ---------------------------------------------------------------------------------------------
// Names. The app reads the container and queue names from Storage__ContainerName and
// Storage__IntakeQueueName below; the Durable task hub name (FetchFunctionsHub) lives in host.json.
// ---------------------------------------------------------------------------------------------

var storageAccountName = 'st${resourceToken}'
var identityName = 'id-${environmentName}-${resourceToken}'
var logAnalyticsName = 'log-${environmentName}-${resourceToken}'
var appInsightsName = 'appi-${environmentName}-${resourceToken}'
var planName = 'plan-${environmentName}-${resourceToken}'
var functionAppName = 'func-${environmentName}-${resourceToken}'

@description('Blob container the Flex Consumption platform deploys the app package from.')
var deploymentContainerName = 'app-package'

@description('Blob container for crawl output: jobs, bodies and summaries.')
var crawlContainerName = 'crawls'

@description('Intake queue. The runtime creates crawl-intake-poison itself when a message exceeds maxDequeueCount.')
var intakeQueueName = 'crawl-intake'

// Built-in role definition ids (the same in every tenant).
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

// The Functions host, the Durable Azure Storage provider (queues, tables, lease blobs) and the app's
// own blob and queue clients all use the same identity, so it needs blob, queue and table data roles.
var storageRoleIds = [
  storageBlobDataOwnerRoleId
  storageQueueDataContributorRoleId
  storageTableDataContributorRoleId
]

// ---------------------------------------------------------------------------------------------
// Identity
// ---------------------------------------------------------------------------------------------

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: identityName
  location: location
  tags: tags
}

// ---------------------------------------------------------------------------------------------
// Storage: host storage, deployment package, crawl output and intake queue
// ---------------------------------------------------------------------------------------------

resource storage 'Microsoft.Storage/storageAccounts@2026-06-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: storageSkuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2026-06-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-06-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource crawlContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-06-01' = {
  parent: blobService
  name: crawlContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2026-06-01' = {
  parent: storage
  name: 'default'
}

resource intakeQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2026-06-01' = {
  parent: queueService
  name: intakeQueueName
}

resource storageRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in storageRoleIds: {
    name: guid(storage.id, identity.id, roleId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: identity.properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

// ---------------------------------------------------------------------------------------------
// Monitoring: Log Analytics and Application Insights with Entra ID ingestion only
// ---------------------------------------------------------------------------------------------

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2026-03-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionInDays
    features: {
      disableLocalAuth: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    DisableLocalAuth: true
  }
}

resource metricsPublisherRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, monitoringMetricsPublisherRoleId)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---------------------------------------------------------------------------------------------
// Flex Consumption plan and function app
// ---------------------------------------------------------------------------------------------

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: functionAppName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }
}

// FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION are not app settings on Flex Consumption:
// functionAppConfig.runtime above replaces them.
resource appSettings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    // Host storage (triggers, Durable task hub, keys) through the managed identity.
    AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
    AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
    AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identity.properties.clientId

    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'

    Storage__ContainerName: crawlContainer.name
    Storage__IntakeQueueName: intakeQueue.name

    Fetch__MaxConnectionsPerServer: string(fetchMaxConnectionsPerServer)
    Fetch__MaxBodyBytes: string(fetchMaxBodyBytes)
    Fetch__MaxRetries: string(fetchMaxRetries)
    Fetch__AttemptTimeout: fetchAttemptTimeout
    Fetch__TotalTimeout: fetchTotalTimeout
    Fetch__FetchDeadline: fetchDeadline

    Crawl__MaxBatchesInFlight: string(crawlMaxBatchesInFlight)
    Crawl__MaxConcurrency: string(crawlMaxConcurrency)
    Crawl__MaxConcurrencyPerHost: string(crawlMaxConcurrencyPerHost)
  }
  // The host reaches storage and Application Insights as soon as its settings exist: grant the roles first.
  dependsOn: [
    storageRoleAssignments
    metricsPublisherRoleAssignment
  ]
}

// ---------------------------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------------------------

@description('Name of the function app (for func azure functionapp publish / az functionapp commands).')
output functionAppName string = functionApp.name

@description('Default host name of the function app; the intake is POST https://<host>/api/crawls.')
output functionAppHostName string = functionApp.properties.defaultHostName

@description('Name of the storage account.')
output storageAccountName string = storage.name

@description('Blob container holding crawl output.')
output crawlContainerName string = crawlContainer.name

@description('Intake queue name; its poison queue is <name>-poison.')
output intakeQueueName string = intakeQueue.name

@description('Client id of the app\'s user-assigned managed identity.')
output identityClientId string = identity.properties.clientId
