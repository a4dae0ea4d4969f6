using FetchFunctions;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);

// ASP.NET Core integration: HTTP functions take HttpRequest and return IActionResult.
builder.ConfigureFunctionsWebApplication();

// The same calls the app's tests make, so what they run is what is deployed.
AppServices.Configure(builder.Services, builder.Configuration);
AppLogging.Configure(builder.Logging);
AppTelemetry.Configure(builder.Services, builder.Configuration);

builder.Build().Run();
