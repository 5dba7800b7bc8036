using Microsoft.Extensions.Logging;

namespace Orleans.Raft;

// Raft leader placement's log messages (Placement/), EventIds 4250–4269.
internal static partial class Log
{
    [LoggerMessage(EventId = 4250, Level = LogLevel.Warning,
        Message = "Raft leader placement: {Provider} is not a Raft grain storage on silo {Silo} (grain type {GrainType}); its grains are placed on random silos. Register it with AddRaftGrainStorage or fix the name in [RaftLeaderPlacement]")]
    public static partial void PlacementStorageMissing(ILogger logger, string provider, string silo, string grainType);

    [LoggerMessage(EventId = 4251, Level = LogLevel.Debug,
        Message = "Raft leader placement of {GrainId} (storage {Provider}): {Outcome}, leader {LeaderId}; placed on random silo {Silo}")]
    public static partial void PlacementFallback(ILogger logger, string grainId, string provider, string outcome, string? leaderId, string silo);
}
