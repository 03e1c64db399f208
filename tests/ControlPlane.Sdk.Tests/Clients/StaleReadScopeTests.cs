using ControlPlane.Api.V1;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Sdk.Tests.Clients;

/// <summary>
/// A replica cut off from its store and no other address: its marked answers are returned, and the
/// caller can tell (a <see cref="StaleReadScope"/>, <see cref="ControlPlaneException.LastContactMs"/>,
/// the 9005 warning) instead of taking them for the store's current state.
/// </summary>
public sealed class StaleReadScopeTests
{
    [Fact]
    public async Task AnswersAndErrorsFromMemory_AreRecordedInTheScope_MarkedOnTheException_AndLogged()
    {
        await using var replica = await MemoryReplica.StartAsync("GetInstance");
        var logs = new TestLogSink();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var options = new ControlPlaneClientOptions();
        options.Addresses.Add(replica.Address);
        using var client = ControlPlaneClient.Create(options, loggerFactory: loggers);

        using (var scope = StaleReadScope.Begin())
        {
            await client.Registry.ListServicesAsync(new ListServicesRequest()).DefaultTimeout();
            Assert.Equal(MemoryReplica.LastContactMs, scope.LastContactMs);

            var missing = await Assert.ThrowsAsync<ControlPlaneException>(() => client.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = "i1" })).DefaultTimeout();
            Assert.Equal("not_found", missing.ErrorCode);
            Assert.Equal(MemoryReplica.LastContactMs, missing.LastContactMs);
            Assert.Equal(["controlplane.v1.RegistryService.ListServices", "controlplane.v1.RegistryService.GetInstance"], scope.Reads.Select(r => r.Method));
            Assert.All(scope.Reads, r => Assert.Equal(replica.Address, r.Address));
        }
        Assert.Equal(2, logs.Records.Count(r => r.EventId.Id == 9005 && r.Level == LogLevel.Warning));

        // A scope sees only the calls made while it is current.
        using var later = StaleReadScope.Begin();
        Assert.Null(later.LastContactMs);
    }
}
