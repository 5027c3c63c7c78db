using Haetae.Bench;

// Whole-system measurements on real local sites.
// Usage: dotnet run -c Release --project bench/Haetae.Bench -- foundation [runs] | chat [messages per sender] | ledger [transfers per worker] | pay [requests per worker] | fsync [runs] | devices [idle devices] [burst]
var runs = args.Length > 1 && int.TryParse(args[1], out var n) ? n : 5;
switch (args.FirstOrDefault() ?? "foundation")
{
    case "foundation":
        await FoundationBench.RunAsync(runs, Console.Out);
        return 0;
    case "chat":
        await ChatBench.RunAsync(pairs: 16, perSender: args.Length > 1 ? runs : 200, Console.Out);
        return 0;
    case "ledger":
        await LedgerBench.RunAsync(workers: 16, perWorker: args.Length > 1 ? runs : 200, Console.Out);
        return 0;
    case "pay":
        await PayBench.RunAsync(workers: 16, perWorker: args.Length > 1 ? runs : 100, Console.Out);
        return 0;
    case "devices":
        await DevicesBench.RunAsync(devices: args.Length > 1 ? runs : 10_000, burst: args.Length > 2 && int.TryParse(args[2], out var b) ? b : 2_000, Console.Out);
        return 0;
    case "fsync":
        await FsyncBench.RunAsync(args.Length > 1 ? runs : 3, Console.Out);
        return 0;
    default:
        await Console.Error.WriteLineAsync($"unknown benchmark '{args[0]}' (known: foundation, chat, ledger, pay, fsync, devices)");
        return 2;
}
