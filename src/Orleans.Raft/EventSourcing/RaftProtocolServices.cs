using System.Globalization;
using Microsoft.Extensions.Logging;
using Orleans.EventSourcing;
using Orleans.Runtime;
using Orleans.Serialization;

namespace Orleans.Raft.EventSourcing;

// What a log-view adaptor may ask of the runtime. Orleans' own implementation and the registration that provides it
// are internal to Orleans.EventSourcing (they come with its built-in providers), so a silo that only uses this
// provider needs this one: JournaledGrain resolves Factory<IGrainContext, ILogConsistencyProtocolServices> on
// activation.
internal sealed class RaftProtocolServices(IGrainContext grainContext, DeepCopier copier, ILocalSiloDetails silo, ILogger<RaftProtocolServices> logger)
    : ILogConsistencyProtocolServices
{
    public GrainId GrainId => grainContext.GrainId;

    public string MyClusterId => silo.ClusterId;

    public T DeepCopy<T>(T value) => copier.Copy(value)!;

    public void ProtocolError(string msg, bool throwexception)
    {
        EventSourcingLog.ProtocolError(logger, GrainId, msg);
        if (throwexception)
        {
            throw new OrleansException($"{msg} (grain {GrainId}, cluster {MyClusterId})");
        }
    }

    public void CaughtException(string where, Exception e) => EventSourcingLog.CaughtException(logger, e, GrainId, where);

    public void CaughtUserCodeException(string callback, string where, Exception e) =>
        EventSourcingLog.CaughtUserCodeException(logger, e, GrainId, callback, where);

    public void Log(LogLevel level, string format, params object[] args)
    {
        if (logger.IsEnabled(level))
        {
            EventSourcingLog.ProtocolMessage(logger, level, GrainId, string.Format(CultureInfo.InvariantCulture, format, args));
        }
    }
}
