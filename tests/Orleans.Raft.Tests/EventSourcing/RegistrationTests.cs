using Microsoft.Extensions.DependencyInjection;
using Orleans.EventSourcing;
using Orleans.Hosting;
using Orleans.Providers;

namespace Orleans.Raft.Tests.EventSourcing;

public sealed class RegistrationTests
{
    [Fact]
    public void AddRaftLogConsistencyProvider_RegistersTheNamedFactory_AndTheProtocolServicesJournaledGrainNeeds()
    {
        var services = new ServiceCollection().AddRaftLogConsistencyProvider("es", o => o.SnapshotInterval = 5);
        Assert.Contains(services, d => d.ServiceType == typeof(ILogViewAdaptorFactory) && Equals(d.ServiceKey, "es"));
        Assert.Contains(services, d => d.ServiceType == typeof(Factory<IGrainContext, ILogConsistencyProtocolServices>));
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(ILogViewAdaptorFactory) && d.ServiceKey is null);
    }

    [Fact]
    public void AsDefault_AlsoServesJournaledGrainsWithoutTheAttribute()
    {
        var services = new ServiceCollection().AddRaftLogConsistencyProviderAsDefault();
        Assert.Contains(services, d => d.ServiceType == typeof(ILogViewAdaptorFactory) && Equals(d.ServiceKey, ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME));
        Assert.Contains(services, d => d.ServiceType == typeof(ILogViewAdaptorFactory) && d.ServiceKey is null);
    }
}
