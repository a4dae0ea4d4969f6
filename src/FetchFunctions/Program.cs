using FetchFunctions;
using FetchFunctions.Core;
using FetchFunctions.Core.Storage;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);

// ASP.NET Core integration: HTTP functions take HttpRequest and return IActionResult.
builder.ConfigureFunctionsWebApplication();

// The queue trigger and output bindings use a constant queue name; fail at start if configuration disagrees.
IntakeQueue.EnsureConfigurationMatches(builder.Configuration);

// Blob and queue clients from the same AzureWebJobsStorage connection the host uses.
builder.Services.AddFetchFunctionsStorage(builder.Configuration);

builder.Services.AddFetchFunctionsCore(builder.Configuration);

builder.Build().Run();
