using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Health;
using ControlPlane.Grpc.Server;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace ControlPlane.Grpc.Tests.Health;

public sealed class HealthServiceTests
{
    private static readonly Method<HealthCheckRequest, HealthCheckResponse> Check = new(HealthReflection.Descriptor.Services[0].Methods[0]);
    private static readonly Method<HealthCheckRequest, HealthCheckResponse> Watch = new(HealthReflection.Descriptor.Services[0].Methods[1]);

    private static Task<GrpcTestServer> StartAsync() => GrpcTestServer.StartAsync(new GrpcTestServerOptions
    {
        Map = app =>
        {
            app.MapGrpcService<InteropTestService>(InteropMethods.TestService);
            app.MapGrpcHealthService();
        },
    });

    [Fact]
    public async Task Check_ReportsServingPerBoundService_AndNotFoundForOthers()
    {
        await using var server = await StartAsync();
        using var channel = server.CreateChannel();
        Assert.Equal(ServingStatus.Serving, (await channel.AsyncUnaryCall(Check, new HealthCheckRequest()).ResponseAsync.DefaultTimeout()).Status);
        Assert.Equal(ServingStatus.Serving, (await channel.AsyncUnaryCall(Check, new HealthCheckRequest { Service = "interop.v1.TestService" }).ResponseAsync.DefaultTimeout()).Status);
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(Check, new HealthCheckRequest { Service = "nope.Service" }).ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
    }

    [Fact]
    public async Task Watch_StreamsChanges_AndLeavesNoWatcherBehind()
    {
        await using var server = await StartAsync();
        var registry = server.Services.GetRequiredService<HealthStatusRegistry>();
        using var channel = server.CreateChannel();
        var call = channel.AsyncServerStreamingCall(Watch, new HealthCheckRequest { Service = "interop.v1.TestService" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal(ServingStatus.Serving, call.ResponseStream.Current.Status);

        registry.SetStatus("interop.v1.TestService", ServingStatus.NotServing);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal(ServingStatus.NotServing, call.ResponseStream.Current.Status);

        Assert.Equal(1, registry.WatcherCount);
        call.Dispose();
        await WaitUntil(() => registry.WatcherCount == 0);
    }

    [Fact]
    public async Task Watch_OfAnUnknownService_SaysServiceUnknown_ThenFollowsIt()
    {
        await using var server = await StartAsync();
        var registry = server.Services.GetRequiredService<HealthStatusRegistry>();
        using var channel = server.CreateChannel();
        using var call = channel.AsyncServerStreamingCall(Watch, new HealthCheckRequest { Service = "later.Service" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal(ServingStatus.ServiceUnknown, call.ResponseStream.Current.Status);
        registry.SetStatus("later.Service", ServingStatus.Serving);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal(ServingStatus.Serving, call.ResponseStream.Current.Status);
    }

    [Fact]
    public async Task Stopping_SendsNotServing_ThenEndsEveryWatch_SoTheServerStopsAtOnce()
    {
        await using var server = await StartAsync();
        using var channel = server.CreateChannel();
        using var server1 = channel.AsyncServerStreamingCall(Watch, new HealthCheckRequest());
        using var service = channel.AsyncServerStreamingCall(Watch, new HealthCheckRequest { Service = "interop.v1.TestService" });
        foreach (var call in new[] { server1, service })
        {
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
            Assert.Equal(ServingStatus.Serving, call.ResponseStream.Current.Status);
        }

        // The host's shutdown timeout (30 s by default) would pass if a Watch held the stop up.
        var stopping = server.StopAsync();
        foreach (var call in new[] { server1, service })
        {
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
            Assert.Equal(ServingStatus.NotServing, call.ResponseStream.Current.Status);
            var ended = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
            Assert.Equal(StatusCode.Unavailable, ended.StatusCode);
        }
        await stopping.DefaultTimeout();

        // Terminal: nothing flips it back, and a Watch opened now ends the same way.
        var registry = server.Services.GetRequiredService<HealthStatusRegistry>();
        registry.SetStatus("", ServingStatus.Serving);
        Assert.Equal(ServingStatus.NotServing, registry.GetStatus(""));
        Assert.Equal(0, registry.WatcherCount);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TaskTimeoutExtensions.Timeout);
        while (!condition())
        {
            await Task.Yield();
            await Task.Delay(10, timeout.Token);
        }
    }
}
