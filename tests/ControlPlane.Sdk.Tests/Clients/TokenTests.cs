using ControlPlane.Api.V1;
using ControlPlane.Sdk.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Sdk.Tests.Clients;

/// <summary>
/// The platform token comes from the environment or a file (never from options), is sent only on
/// admin methods (unless asked otherwise), and never shows in the client's or the server's logs.
/// </summary>
public sealed class TokenTests : IAsyncLifetime
{
    private readonly string _token = "tok-" + Guid.NewGuid().ToString("N");
    private readonly string _directory = Directory.CreateTempSubdirectory("sdk-token-").FullName;
    private TestControlPlane _host = null!;

    public async ValueTask InitializeAsync() => _host = await TestControlPlane.StartAsync(platformToken: _token);

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task TokenFromAFile_IsSentOnAdminMethodsOnly_AndNeverLogged()
    {
        var file = Path.Combine(_directory, "platform-token");
        await File.WriteAllTextAsync(file, _token + "\n"); // a trailing newline, as secret mounts often have
        // Unique variable names: the real process environment, with no other test seeing them.
        var variable = "SDK_TEST_TOKEN_FILE_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(variable, file);
        var logs = new TestLogSink();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        try
        {
            using var client = ControlPlaneClient.Create(Options(o => o.PlatformTokenFileVariable = variable), loggerFactory: loggers);

            await client.Policies.SetPolicyAsync(new SetPolicyRequest { Image = "img.tok", Algorithm = "least_conn" }).DefaultTimeout();
            await client.Policies.GetPolicyAsync(new GetPolicyRequest { Image = "img.tok" }).DefaultTimeout();
            await Assert.ThrowsAsync<ControlPlaneException>(() => client.Policies.SetPolicyAsync(new SetPolicyRequest { Image = "img.tok", Algorithm = "nope" })).DefaultTimeout();
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }

        Assert.Equal(_token, _host.Calls.Of("SetPolicy")[0].Headers["x-platform-token"]);
        Assert.DoesNotContain("x-platform-token", _host.Calls.Of("GetPolicy")[0].Headers.Keys);
        Assert.Contains(logs.Records, r => r.Message.Contains(variable, StringComparison.Ordinal)); // the source is logged ...
        AssertNeverLogged(logs); // ... the value never
    }

    [Fact]
    public async Task TokenFromTheEnvironment_CanBeSentOnEveryCall()
    {
        var variable = "SDK_TEST_TOKEN_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(variable, _token);
        var logs = new TestLogSink();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        try
        {
            using var client = ControlPlaneClient.Create(Options(o => { o.PlatformTokenVariable = variable; o.SendPlatformTokenOnEveryCall = true; }), loggerFactory: loggers);
            await client.Policies.SetPolicyAsync(new SetPolicyRequest { Image = "img.tok2", Algorithm = "round_robin" }).DefaultTimeout();
            await client.Registry.GetTopologyAsync(new GetTopologyRequest()).DefaultTimeout();
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }

        Assert.Equal(_token, _host.Calls.Of("GetTopology")[0].Headers["x-platform-token"]);
        AssertNeverLogged(logs);
    }

    [Fact]
    public void UnreadableTokenFile_FailsAtCreation_WithoutTheTokenInTheMessage()
    {
        var variable = "SDK_TEST_TOKEN_FILE_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(variable, Path.Combine(_directory, "missing"));
        try
        {
            var ex = Assert.Throws<InvalidOperationException>(() => ControlPlaneClient.Create(Options(o => o.PlatformTokenFileVariable = variable)));
            Assert.Contains(variable, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    private ControlPlaneClientOptions Options(Action<ControlPlaneClientOptions> configure)
    {
        var options = new ControlPlaneClientOptions
        {
            // Nothing else may leak in from the machine's own PLATFORM_TOKEN.
            PlatformTokenVariable = "SDK_TEST_UNSET_" + Guid.NewGuid().ToString("N"),
            PlatformTokenFileVariable = "SDK_TEST_UNSET_" + Guid.NewGuid().ToString("N"),
        };
        options.Addresses.Add(_host.Grpc);
        configure(options);
        return options;
    }

    private void AssertNeverLogged(TestLogSink client)
    {
        Assert.NotEmpty(client.Records);
        Assert.NotEmpty(_host.Logs.Lines);
        Assert.DoesNotContain(client.Records, r => r.ToString().Contains(_token, StringComparison.Ordinal) || (r.Exception?.ToString().Contains(_token, StringComparison.Ordinal) ?? false));
        Assert.DoesNotContain(_host.Logs.Lines, l => l.Contains(_token, StringComparison.Ordinal));
    }
}
