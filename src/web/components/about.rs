//! What the app is, what it stores where, and whose data the sample is.

use yew::prelude::*;

/// The About panel (a `<details>` in the footer).
#[component]
pub fn About() -> Html {
    html! {
        <details class="about" data-testid="about">
            <summary>{"About MedClassify and your data"}</summary>
            <p>{"MedClassify trains and runs an image classifier entirely in this browser tab: images are decoded by WebAssembly, the network is trained with Burn on WebGPU (or the CPU), and every result is computed here."}</p>
            <h4>{"What is stored where"}</h4>
            <ul>
                <li>{"Your images stay on your computer. They are read from the folder you choose and kept in this tab's memory only; they are never sent anywhere. The page makes no request to any server other than the one it was loaded from, has no analytics and uses no CDN; its Content-Security-Policy forbids connections elsewhere."}</li>
                <li>{"The trained model, its training history and checkpoints are saved in this browser's IndexedDB (on this computer), so they survive a reload. \"Forget the model saved in this browser\" deletes them."}</li>
                <li>{"A service worker keeps a copy of the app itself (code and the sample images) so it also works offline."}</li>
                <li>{"A pretrained network's weights are downloaded from this page's own server only when you choose that network for a run, checked against their published SHA-256, and then kept by the service worker so they are not downloaded again."}</li>
                <li>{"Downloads (model files, CSV, charts, model cards) are created locally."}</li>
            </ul>
            <h4>{"Not a medical device"}</h4>
            <p>{"For education and research only; not for diagnosis or treatment decisions."}</p>
            <h4>{"Sample data and ready model"}</h4>
            <p>{"The sample images and the data the ready model was trained on come from MedNIST, gathered from several sets from TCIA (The Cancer Imaging Archive), the RSNA Bone Age Challenge and the NIH Chest X-ray dataset, and made available by Dr. Bradley J. Erickson M.D., Ph.D. (Department of Radiology, Mayo Clinic) under the Creative Commons CC BY-SA 4.0 licence."}</p>
            <h4>{"Pretrained networks"}</h4>
            <ul>
                for backbone in crate::model::pretrained::BACKBONES {
                    <li data-testid="about-backbone">{ format!("{}: {}. Licence {}; SHA-256 {}.", backbone.label, backbone.origin, backbone.licence, backbone.weights_sha256) }</li>
                }
            </ul>
        </details>
    }
}
