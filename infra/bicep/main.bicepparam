// Parameters for main.bicep. Values not listed keep the template's defaults.
// az deployment group create -g <resource-group> -p infra/bicep/main.bicepparam
using 'main.bicep'

param environmentName = 'fetch'

param tags = {
  app: 'FetchFunctions'
}

// Flex Consumption scale: at most this many instances, each with this much memory.
param maximumInstanceCount = 10
param instanceMemoryMB = 2048

// Fetch and crawl limits (app settings Fetch__* / Crawl__*). Together with maximumInstanceCount and
// host.json's durableTask.maxConcurrentActivityFunctions they bound the load on target sites.
param fetchMaxConnectionsPerServer = 16
param fetchMaxBodyBytes = 268435456
param fetchMaxRetries = 3
param fetchAttemptTimeout = '00:00:10'
param fetchTotalTimeout = '00:01:00'
param fetchDeadline = '00:02:00'
param crawlMaxBatchesInFlight = 8
param crawlMaxConcurrency = 16
param crawlMaxConcurrencyPerHost = 4
