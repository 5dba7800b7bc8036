using Microsoft.Extensions.Logging;

namespace Benchmarks.Orleans;

/// <summary>How to build an <see cref="OrleansTestCluster"/>.</summary>
public sealed class OrleansTestClusterOptions
{
    /// <summary>Number of silos (default 3).</summary>
    public int Silos { get; set; } = 3;

    /// <summary>Orleans' ServiceId and ClusterId (default <c>bench</c>).</summary>
    public string ClusterId { get; set; } = "bench";

    /// <summary>
    /// Adds the caller's providers and services to each silo (grain storage, log-consistency providers, ...); called
    /// once per silo, after the cluster's own settings (name, endpoints, membership). Grain classes of the calling
    /// assembly are found by Orleans itself.
    /// </summary>
    public Action<OrleansSiloContext, ISiloBuilder>? ConfigureSilo { get; set; }

    /// <summary>Adjusts the client (the cluster's gateways and ids are already set).</summary>
    public Action<IClientBuilder>? ConfigureClient { get; set; }

    /// <summary>Minimum level of the silos' and client's console logs (default Warning; Orleans' own start-up advice is hidden).</summary>
    public LogLevel LogLevel { get; set; } = LogLevel.Warning;

    /// <summary>Where the temporary data directory is created (default: the system's temporary folder).</summary>
    public string? DataRoot { get; set; }
}
