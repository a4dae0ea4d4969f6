using FetchFunctions.Core.Storage;
using Microsoft.Extensions.Configuration;

namespace FetchFunctions;

/// <summary>The intake queue the HTTP intake writes to and the queue trigger reads.</summary>
internal static class IntakeQueue
{
    /// <summary>Binding attributes need a constant; it equals Core's default <c>Storage:IntakeQueueName</c>.</summary>
    public const string Name = "crawl-intake";

    /// <summary>The storage connection of the queue bindings: the host's own, which Core's clients use too.</summary>
    public const string Connection = StorageClientRegistration.ConnectionName;

    /// <summary>Core (and the CLI's <c>enqueue</c>) use <c>Storage:IntakeQueueName</c>; a different value would
    /// leave messages where no trigger listens, so the app refuses to start.</summary>
    public static void EnsureConfigurationMatches(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var configured = configuration["Storage:IntakeQueueName"];
        if (!string.IsNullOrEmpty(configured) && !string.Equals(configured, Name, StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                $"Storage:IntakeQueueName is '{configured}', but the Functions app's queue bindings use '{Name}'. " +
                $"Remove the setting or set it to '{Name}'.");
        }
    }
}
