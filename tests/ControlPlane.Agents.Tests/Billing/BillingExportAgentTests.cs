using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using ControlPlane.Agents.Billing;
using ControlPlane.Agents.Tests.Infrastructure;

namespace ControlPlane.Agents.Tests.Billing;

[Collection(PlatformCollection.Name)]
public sealed class BillingExportAgentTests(AgentPlatform platform)
{
    [Fact]
    public async Task ExportOnce_ToADirectory_WritesTheExportItsChecksumAndThePointer()
    {
        var directory = Path.Combine(platform.StateDirectory, "billing-" + Guid.NewGuid().ToString("N")[..6]);
        await using var session = platform.Session();
        var export = await session.RunAsync("billing", "export", new { window = "5m", to_dir = directory });
        Assert.True(export.Ok, export.ToJson());

        var file = (string)export.Result!["shipped_to"]!;
        var bytes = await File.ReadAllBytesAsync(file);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        Assert.Equal($"{sha}  {Path.GetFileName(file)}\n", await File.ReadAllTextAsync(file + ".sha256"));
        using var pointer = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(directory, "latest.json")));
        Assert.Equal(Path.GetFileName(file), pointer.RootElement.GetProperty("export").GetString());
        Assert.Equal(sha, pointer.RootElement.GetProperty("sha256").GetString());
        Assert.Equal((string?)export.Result["checksum"], pointer.RootElement.GetProperty("checksum").GetString());
        // What was shipped is the control plane's document byte for byte: the independent check agrees.
        await ExportValidator.RequireAsync();
        Assert.Null(await ExportValidator.ValidateAsync(bytes));
    }

    [Fact]
    public async Task ExportOnce_ToAnHttpEndpoint_PostsTheBytes_WithTheChecksumAsIdempotencyKey()
    {
        var pointers = Path.Combine(platform.StateDirectory, "pointers-" + Guid.NewGuid().ToString("N")[..6]);
        var before = platform.Sink.BillingPosts.Count;
        await using var session = platform.Session();
        var export = await session.RunAsync("billing", "export", new { window = "1h", to_url = platform.Sink.Billing.ToString(), pointer_dir = pointers });
        Assert.True(export.Ok, export.ToJson());
        var (body, headers) = platform.Sink.BillingPosts.Skip(before).Single();
        Assert.Equal((string?)export.Result!["checksum"], headers["Idempotency-Key"].ToString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(body)), headers["X-Export-SHA256"].ToString());
        ExportDocument.Check(body, ContractSchema.BillingExport);
        Assert.True(File.Exists(Path.Combine(pointers, "latest.json")));
    }

    [Fact]
    public async Task AFailingEndpoint_IsRetriedThreeTimes_ThenTheUserChannelIsAlerted()
    {
        var before = platform.Sink.BillingPosts.Count;
        platform.Sink.BillingStatus = 500;
        try
        {
            await using var session = platform.Session();
            var failed = await session.RunAsync("billing", "export", new { to_url = platform.Sink.Billing.ToString(), retry_base_s = 0.01 });
            Assert.Equal(AgentErrorCodes.ExportFailed, failed.Error!.Code);
            Assert.Equal(4, platform.Sink.BillingPosts.Count - before);
            Assert.Equal(4, failed.Result!["attempts"]!.AsArray().Count);
            Assert.True((bool)failed.Result["alerted"]!);
            Assert.Contains(platform.Sink.Messages, m => m.GetProperty("kind").GetString() == "alert" && m.GetProperty("trace_id").GetString() == failed.TraceId);
        }
        finally
        {
            platform.Sink.BillingStatus = 200;
        }
    }

    [Fact]
    public async Task DeterministicFailures_AreNotRetried()
    {
        await using var session = platform.Session();
        var future = await session.RunAsync("billing", "export", new { to_dir = platform.StateDirectory, end_time = "2099-01-01T00:00:00Z", retry_base_s = 0.01 });
        Assert.Equal(AgentErrorCodes.InvalidRequest, future.Error!.Code);
        Assert.Contains("in the future", future.Error.Detail, StringComparison.Ordinal);

        var directory = await session.RunAsync("billing", "export", new { to_dir = "/proc/nope", retry_base_s = 0.01 });
        Assert.Equal(AgentErrorCodes.ExportFailed, directory.Error!.Code);
        Assert.Contains("directory /proc/nope", directory.Error.Detail, StringComparison.Ordinal);
        Assert.Single(directory.Result!["attempts"]!.AsArray());

        var before = platform.Sink.BillingPosts.Count;
        platform.Sink.BillingStatus = 400;
        try
        {
            var refused = await session.RunAsync("billing", "export", new { to_url = platform.Sink.Billing.ToString(), retry_base_s = 0.01 });
            Assert.Equal(AgentErrorCodes.ExportFailed, refused.Error!.Code);
            Assert.Equal(1, platform.Sink.BillingPosts.Count - before);
            Assert.Single(refused.Result!["attempts"]!.AsArray());
        }
        finally
        {
            platform.Sink.BillingStatus = 200;
        }
    }

    [Fact]
    public async Task TheSchedule_ExportsTheHourThatJustEnded_AtFivePast()
    {
        var now = DateTimeOffset.UtcNow;
        var hour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        // Virtual time a minute before :05 of the current hour, so the hour it bills has ended for the control plane too.
        var time = new ManualTimeProvider(hour + TimeSpan.FromMinutes(4));
        var directory = Path.Combine(platform.StateDirectory, "scheduled-" + Guid.NewGuid().ToString("N")[..6]);
        await using var session = platform.Session(time: time);
        var run = session.RunTaskAsync("billing", "export", new { schedule = true, runs = 1, to_dir = directory });
        await Eventually.WaitAsync("the scheduled export", () =>
        {
            time.Advance(TimeSpan.FromSeconds(20));
            return run.IsCompleted;
        });
        var envelope = await run.DefaultTimeout();
        Assert.True(envelope.Ok, envelope.ToJson());
        var first = envelope.Result!["runs"]![0]!;
        Assert.Equal(hour, DateTimeOffset.Parse((string)first["window_end"]!, CultureInfo.InvariantCulture));
        Assert.Equal(hour - TimeSpan.FromHours(1), DateTimeOffset.Parse((string)first["window_start"]!, CultureInfo.InvariantCulture));
        Assert.True(time.GetUtcNow() >= hour + TimeSpan.FromMinutes(5));
        Assert.True(File.Exists(Path.Combine(directory, "latest.json")));
    }

    [Fact]
    public void TheNextRun_IsTheNextFivePast()
    {
        var at = new DateTimeOffset(2026, 1, 1, 10, 0, 0, TimeSpan.Zero);
        Assert.Equal(at.AddMinutes(5), BillingExportAgent.NextRun(at));
        Assert.Equal(at.AddMinutes(5), BillingExportAgent.NextRun(at.AddMinutes(5)));
        Assert.Equal(at.AddHours(1).AddMinutes(5), BillingExportAgent.NextRun(at.AddMinutes(5).AddTicks(1)));
    }
}
